"""`gateway user create` and `gateway user reset-link`: dashboard users (merchant users and admins)."""

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
@click.option(
    "--team-role",
    type=click.Choice(["owner", "admin", "developer", "viewer"]),
    help="a merchant user's role in its team [default: owner]",
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="prompted when not given")
@click.option("--json", "as_json", is_flag=True)
def create(email: str, role: str, merchant_id: str | None, team_role: str | None, password: str, as_json: bool) -> None:
    """Prints the new user's id, email, role, team role and merchant."""
    from core.dashboard.users import create_user

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        created = await create_user(res.db, email, password, role, merchant_id, team_role)
        return {k: created[k] for k in ("id", "email", "role", "team_role", "merchant_id")}

    try:
        emit(run_with_resources(settings, work), as_json)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@user.command("reset-link")
@click.argument("email")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True, help="the dashboard's address")
def reset_link(email: str, base_url: str) -> None:
    """Prints a one-time link (1 hour) where the user sets a new password; using it ends all of the
    user's sessions. No mail is sent: hand the link over yourself."""
    from core.dashboard import password_links
    from core.dashboard.users import user_by_email

    settings = cli_settings()

    async def work(res: Any) -> str:
        found = await user_by_email(res.db, email)
        if found is None or found["disabled"]:
            raise click.ClickException(f"no active user with email {email.strip().lower()}")
        return base_url.rstrip("/") + password_links.PATH + await password_links.issue(res.db, found["id"], "reset")

    click.echo(run_with_resources(settings, work))
