"""`gateway user create`: dashboard users (merchant users and admins)."""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def user() -> None:
    """Dashboard users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["merchant", "admin"]), required=True)
@click.option("--merchant", "merchant_id", help="the merchant a merchant user belongs to")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="prompted when not given")
@click.option("--json", "as_json", is_flag=True)
def create(email: str, role: str, merchant_id: str | None, password: str, as_json: bool) -> None:
    """Prints the new user's id, email, role and merchant."""
    from core.dashboard.users import create_user

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        created = await create_user(res.db, email, password, role, merchant_id)
        return {k: created[k] for k in ("id", "email", "role", "merchant_id")}

    try:
        emit(run_with_resources(settings, work), as_json)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
