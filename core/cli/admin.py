"""`gateway admin create-token --name NAME`: an admin API bearer token, shown once."""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def admin() -> None:
    """Admin API access."""


@admin.command("create-token")
@click.option("--name", required=True, help="who or what the token is for")
@click.option("--json", "as_json", is_flag=True)
def create_token(name: str, as_json: bool) -> None:
    from core import audit
    from core.security.admin_tokens import create_admin_token

    settings = cli_settings()

    async def work(res: Any) -> dict[str, str]:
        created = await create_admin_token(name)
        await audit.record(
            res.mongo, actor="cli", action="admin_token.created", target=created["id"], details={"name": name}
        )
        return {"token": created["token"]}

    emit(run_with_resources(settings, work), as_json)
