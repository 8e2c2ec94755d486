"""`gateway admin create-token --name NAME [--scope S]... [--expires-in D]`: an admin API bearer
token, shown once."""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources

SCOPE_CHOICES = ("read", "write", "ops")


@click.group()
def admin() -> None:
    """Admin API access."""


@admin.command("create-token")
@click.option("--name", required=True, help="who or what the token is for")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPE_CHOICES),
    help="read (GET), write (merchants, keys, routes, adjustments), ops (PLEs, settlements); repeatable [all three]",
)
@click.option("--expires-in", help="lifetime like 90s, 15m, 12h or 30d [never expires]")
@click.option("--json", "as_json", is_flag=True)
def create_token(name: str, scopes: tuple[str, ...], expires_in: str | None, as_json: bool) -> None:
    from core import audit
    from core.errors import ApiError
    from core.security.admin_tokens import SCOPES, create_admin_token, parse_duration

    try:
        lifetime = parse_duration(expires_in) if expires_in is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires-in") from None
    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        created = await create_admin_token(res.db, name, scopes or SCOPES, lifetime)
        expires = created.expires_at.isoformat().replace("+00:00", "Z") if created.expires_at else None
        await audit.record(
            res.mongo,
            res.db,
            actor="cli",
            action="admin_token.created",
            target=created.id,
            details={"name": name, "scopes": list(created.scopes), "expires_at": expires},
        )
        # stdout carries exactly the contract's answer (§11); what the token may do goes to stderr.
        granted = ",".join(created.scopes)
        click.echo(f"admin token {created.id}: scopes {granted}, expires {expires or 'never'}", err=True)
        return {"token": created.token}

    try:
        emit(run_with_resources(settings, work), as_json)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
