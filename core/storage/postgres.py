"""PostgreSQL through Piccolo: the engine, its pool, and the schema migrations.

Schema changes are plain SQL files in `migrations/`, applied in name order under an advisory
lock, each in its own transaction, and recorded in `schema_migrations`. Piccolo's generated
migrations were not used: they take no lock (two replicas starting at once would race) and the
ledger needs CHECK constraints and partial indexes written by hand (docs/decisions.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("PICCOLO_CONF", "core.storage.piccolo_conf")

from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 7_263_001  # arbitrary, constant: the advisory lock that serialises migrators


def engine() -> PostgresEngine:
    found = engine_finder()
    if not isinstance(found, PostgresEngine):
        raise RuntimeError("PICCOLO_CONF does not define a PostgresEngine")
    return found


_pool_users = 0  # apps sharing this process's one engine (tests run several roles in-process)


async def open_pool(max_size: int = 10) -> PostgresEngine:
    """Start the engine's pool (lazily connecting: a down database must not stop start-up)."""
    global _pool_users
    db = engine()
    if _pool_users == 0:
        await db.start_connection_pool(min_size=0, max_size=max_size)
    _pool_users += 1
    return db


async def close_pool() -> None:
    global _pool_users
    _pool_users -= 1
    if _pool_users == 0:
        await engine().close_connection_pool()


async def sql(template: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement with `{}` placeholders (Piccolo QueryString), inside the current
    Piccolo transaction when there is one; rows come back as dicts."""
    rows = await engine().run_querystring(QueryString(template, *args))
    return [dict(r) for r in rows]


async def ping() -> None:
    await engine().run_ddl("SELECT 1")


async def migrate() -> list[str]:
    """Apply every migration not yet applied; returns the names applied now."""
    import asyncpg

    from core.config import load_settings

    conn = await asyncpg.connect(load_settings().database_url)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.stem)
            applied_now.append(path.stem)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()
    return applied_now
