"""`gateway migrate`: apply missing PostgreSQL migrations and create MongoDB indexes."""

from __future__ import annotations

from typing import Any

import click
import structlog

from core.cli.output import cli_settings, emit


@click.command()
@click.option("--json", "as_json", is_flag=True)
def migrate(as_json: bool) -> None:
    """Idempotent: applies only what is missing."""
    import asyncio

    from core.storage.migrate import migrate as migrate_postgres
    from core.storage.mongo import Mongo

    settings = cli_settings()

    async def run() -> dict[str, Any]:
        applied = await migrate_postgres(settings.database_url)
        mongo = Mongo(settings.mongo_url, settings.mongo_database)
        try:
            await mongo.ensure_indexes()
        finally:
            await mongo.close()
        structlog.get_logger("migrate").info("migrations applied", applied=applied)
        return {"postgres": "ok", "mongo": "ok"}

    result = asyncio.run(run())
    emit(result, as_json)
