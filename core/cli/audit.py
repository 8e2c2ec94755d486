"""`gateway audit ...`: operate the hash-chained audit log (ARCHITECTURE §8, §11)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit


@click.group()
def audit() -> None:
    """The audit log in MongoDB."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def verify(as_json: bool) -> None:
    """Walk the hash chain; exit 1 naming the first bad entry when it is broken."""
    import asyncio

    from core.audit import verify_chain
    from core.storage.mongo import Mongo

    settings = cli_settings()

    async def run() -> dict[str, Any]:
        mongo = Mongo(settings.mongo_url, settings.mongo_database)
        try:
            return await verify_chain(mongo)
        finally:
            await mongo.close()

    report = asyncio.run(run())
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
