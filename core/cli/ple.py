"""`gateway ple create`: a provider legal entity.

Without `--secret` a random secret is generated and printed once (`"secret"` with `--json`):
a PLE never gets a default secret. `--secret` deliberately has no environment fallback:
SANDBOX_SECRET is set in every .env.backend, and reading it here would give every PLE made
without `--secret` (real PSPs' too) the one sandbox secret, and the command would never
generate one. To reuse it, say so: `--secret "$SANDBOX_SECRET"`.
"""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def ple() -> None:
    """Provider legal entities."""


@ple.command("create")
@click.option("--provider", required=True)
@click.option("--name", required=True)
@click.option("--currency", required=True)
@click.option("--base-url", required=True)
@click.option("--secret", help="the provider's shared secret [generated and printed once]")
@click.option("--fee-bps", type=int, default=0, help="provider fee in basis points, every direction and method")
@click.option("--fee-fixed", type=int, default=0, help="provider fixed fee in minor units")
@click.option("--json", "as_json", is_flag=True)
def create(
    provider: str,
    name: str,
    currency: str,
    base_url: str,
    secret: str | None,
    fee_bps: int,
    fee_fixed: int,
    as_json: bool,
) -> None:
    from core.errors import ApiError
    from core.merchants.service import DIRECTION_METHODS
    from core.routing import create_ple

    settings = cli_settings()
    plan = {"percent_bps": fee_bps, "fixed": fee_fixed}
    schedule = {d: dict.fromkeys(methods, plan) for d, methods in DIRECTION_METHODS.items()}

    async def work(res: Any) -> dict[str, str]:
        created = await create_ple(
            res,
            provider=provider,
            name=name,
            currency=currency,
            base_url=base_url,
            secret=secret,
            fee_schedule=schedule,
            actor="cli",
        )
        answer = {"ple_id": created["id"]}
        if "secret" in created:  # generated: this is the only time anyone sees it
            answer["secret"] = created["secret"]
        return answer

    try:
        emit(run_with_resources(settings, work), as_json)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
