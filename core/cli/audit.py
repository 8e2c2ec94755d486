"""`gateway audit ...`: operate the keyed, anchored audit log (ARCHITECTURE §8, §11)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources
from core.config import Settings


def _with_stores(settings: Settings, work: Any) -> Any:
    """PostgreSQL (keys, anchors) and MongoDB (the log): all `audit verify` reads."""
    import asyncio

    from core.security import audit_keys
    from core.storage.mongo import Mongo
    from core.storage.postgres import Database

    async def main() -> Any:
        audit_keys.use_master_keys(settings.secrets_master_keys)
        db = Database(settings.database_url)
        await db.open(max_size=2)
        mongo = Mongo(settings.mongo_url, settings.mongo_database)
        try:
            return await work(mongo, db)
        finally:
            await mongo.close()
            await db.close()

    return asyncio.run(main())


@click.group()
def audit() -> None:
    """The audit log in MongoDB."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def verify(as_json: bool) -> None:
    """Walk the keyed chain and compare its head with the PostgreSQL anchor; exit 1 naming the
    first bad entry when it is broken."""
    from core.audit import verify_chain

    settings = cli_settings()
    report = _with_stores(settings, verify_chain)
    result: dict[str, Any] = {
        "ok": report["ok"],
        "entries": report["entries"],
        "first_bad": report["first_bad"],
    }
    if not report["ok"]:
        result["problem"] = report["problem"]
    emit(result, as_json)
    if not report["ok"]:
        sys.exit(1)


@audit.command("rotate-key")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def rotate_key(as_json: bool) -> None:
    """Retire the audit chain's HMAC key and start sealing with a new one (old entries keep
    verifying under the retired key, which stays encrypted in PostgreSQL)."""
    from core import audit as audit_log
    from core.security import audit_keys

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        audit_keys.use_master_keys(settings.secrets_master_keys)
        key_id = await audit_keys.rotate_key(res.db)
        await audit_log.record(res.mongo, res.db, actor="cli", action="audit_key.rotated", target=key_id)
        return {"key_id": key_id}

    emit(run_with_resources(settings, work), as_json)
