"""`gateway merchant create|credit`: the same core services the admin API calls."""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def merchant() -> None:
    """Create merchants and credit their balances."""


@merchant.command("create")
@click.option("--name", required=True)
@click.option("--ple", "ple_id", help="route every direction and method to this PLE")
@click.option("--whitelist", multiple=True, help="IPv4/IPv6 address or CIDR (repeatable)")
@click.option("--webhook-url")
@click.option("--json", "as_json", is_flag=True)
def create(name: str, ple_id: str | None, whitelist: tuple[str, ...], webhook_url: str | None, as_json: bool) -> None:
    """Prints merchant_id, key_id, secret and webhook_secret (shown once)."""
    from core.errors import ApiError
    from core.merchants.service import Actor, create_merchant

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        created = await create_merchant(
            res, name=name, actor=Actor("cli"), ip_whitelist=list(whitelist), webhook_url=webhook_url
        )
        merchant_id = created["merchant"]["id"]
        from core.routing import route_everything_to

        target = ple_id
        if target is None and settings.environment == "development":  # dev merchants use the sandbox
            from core.cli.dev_seed import dev_ple_id

            target = await dev_ple_id(res, settings)
        if target:
            await route_everything_to(res, merchant_id, target, actor="cli")
        return {
            "merchant_id": merchant_id,
            "key_id": created["key_id"],
            "secret": created["secret"],
            "webhook_secret": created["webhook_secret"],
        }

    try:
        emit(run_with_resources(settings, work), as_json)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@merchant.command("credit")
@click.option("--merchant", "merchant_id", required=True)
@click.option("--amount", type=int, required=True, help="minor units; negative debits")
@click.option("--currency", default="INR", show_default=True)
@click.option("--reference", required=True, help="idempotency: the same reference posts once")
@click.option("--reason", default="manual credit (CLI)", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def credit(merchant_id: str, amount: int, currency: str, reference: str, reason: str, as_json: bool) -> None:
    """An audited manual adjustment; prints {"entry_id": ...}."""
    from core.balances import adjust
    from core.errors import ApiError

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        entry = await adjust(
            res, merchant_id, amount=amount, currency=currency, reference=reference, reason=reason, actor="cli"
        )
        return {"entry_id": entry["id"]}

    try:
        emit(run_with_resources(settings, work), as_json)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
