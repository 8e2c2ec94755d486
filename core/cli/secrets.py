"""`gateway secrets rotate`: re-encrypt every stored secret under the first master key."""

from __future__ import annotations

from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def secrets() -> None:
    """Stored secrets."""


@secrets.command("rotate")
@click.option("--json", "as_json", is_flag=True)
def rotate(as_json: bool) -> None:
    """Idempotent and resumable; shows a progress bar on a terminal."""
    from core import audit
    from core.security.crypto import UnknownMasterKey, keyring_for
    from core.security.rotation import count_stale, rotate_all

    settings = cli_settings()
    ring = keyring_for(settings.secrets_master_keys)

    async def work(res: Any) -> dict[str, Any]:
        stale = await count_stale(res.db, ring)
        with click.progressbar(length=stale, label="re-encrypting", file=click.get_text_stream("stderr")) as bar:
            rewritten = await rotate_all(res.db, ring, bar.update)
        await audit.record(
            res.mongo,
            res.db,
            actor="cli",
            action="secrets.rotated",
            target=f"master_key:{ring.primary}",
            details={"rewritten": rewritten},
        )
        return {"rewritten": rewritten, "master_key": ring.primary}

    try:
        emit(run_with_resources(settings, work), as_json)
    except UnknownMasterKey as exc:
        raise click.ClickException(str(exc)) from None
