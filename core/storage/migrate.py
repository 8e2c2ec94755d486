"""`gateway migrate`: the Piccolo migrations of core/storage/migrations, under one advisory lock.

Piccolo's own runner (`piccolo migrations forwards`) takes no lock, so two replicas starting at
once would both apply the same migration; it also finds its engine through PICCOLO_CONF, which
this project no longer has. This runner keeps Piccolo's format and bookkeeping instead: each
module's `forwards()` gives a `MigrationManager`, its `add_raw` steps are `RawSql` run here on one
explicit connection, one transaction per migration, and what ran is recorded in Piccolo's
`migration` table (`app_name` 'gateway', `name` the migration ID). A database migrated by the old
runner (names in `schema_migrations`) is adopted: those migrations are recorded as applied and
never run again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from pathlib import Path

import asyncpg
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.postgres import Transaction
from core.storage.tables import PiccoloMigration

APP_NAME = "gateway"
PACKAGE = "core.storage.migrations"
FOLDER = Path(__file__).parent / "migrations"
_LOCK_ID = 7_263_001  # arbitrary, constant: the advisory lock that serialises migrators

# Piccolo's own `migration` table, as `piccolo migrations forwards` would create it.
_MIGRATION_TABLE = (
    "CREATE TABLE IF NOT EXISTS migration (id serial PRIMARY KEY NOT NULL,"
    " name varchar(200) NOT NULL DEFAULT '', app_name varchar(200) NOT NULL DEFAULT '',"
    " ran_on timestamp NOT NULL DEFAULT current_timestamp)"
)


@dataclass(frozen=True)
class RawSql:
    """An `add_raw` step: SQL text this runner executes on its own connection. Calling it (what
    Piccolo's runner would do) is refused: that runner holds no lock and has no engine here."""

    sql: str

    @classmethod
    def of(cls, module_file: str, name: str) -> RawSql:
        return cls((Path(module_file).parent / name).read_text())

    def __call__(self) -> None:
        raise RuntimeError("run migrations with `gateway migrate` (it holds the advisory lock)")


async def managers() -> list[MigrationManager]:
    """Every migration of the app, by ID (Piccolo's order), imported as package modules (Piccolo's
    loader puts the folder on sys.path and imports bare names, which can shadow real modules)."""
    found = []
    for path in sorted(FOLDER.glob("m*.py")):
        module = importlib.import_module(f"{PACKAGE}.{path.stem}")
        found.append(await module.forwards())
    return sorted(found, key=lambda m: m.migration_id)


def _collected(value: object) -> bool:
    return type(value).__name__.endswith("Collection") and any(vars(value).values())


def _raw_steps(manager: MigrationManager) -> list[RawSql]:
    steps = [step for step in manager.raw if isinstance(step, RawSql)]
    operations = [getattr(manager, f.name) for f in fields(manager) if f.name not in ("raw", "raw_backwards")]
    # A collection (add_columns, ...) is never falsy itself: its one attribute is the list of operations.
    others = [op for op in operations if (isinstance(op, list) and op) or _collected(op)]
    if len(steps) != len(manager.raw) or others:
        raise RuntimeError(f"migration {manager.migration_id}: only RawSql steps are supported by gateway migrate")
    return steps


async def _applied(tx: Transaction) -> set[str]:
    m = PiccoloMigration
    return {r["name"] for r in await tx.run(m.select(m.name).where(m.app_name == APP_NAME))}


async def _adopt(tx: Transaction, known: list[str]) -> list[str]:
    """Record as applied the migrations the old runner applied (its `schema_migrations` rows)."""
    if (await tx.sql("SELECT to_regclass('schema_migrations') IS NOT NULL AS present"))[0]["present"] is False:
        return []
    old = {r["name"] for r in await tx.sql("SELECT name FROM schema_migrations")}
    adopted = [name for name in known if name in old and name not in await _applied(tx)]
    for name in adopted:
        await tx.run(PiccoloMigration.insert(PiccoloMigration(name=name, app_name=APP_NAME)))
    return adopted


async def migrate(database_url: str) -> list[str]:
    """Apply every migration not yet applied; returns the IDs applied now (adopted ones excluded)."""
    todo = await managers()
    conn = await asyncpg.connect(database_url)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        async with conn.transaction():
            tx = Transaction(conn)
            await tx.sql(_MIGRATION_TABLE)
            await _adopt(tx, [m.migration_id for m in todo])
        for manager in todo:
            async with conn.transaction():
                tx = Transaction(conn)
                if manager.migration_id in await _applied(tx):
                    continue
                for step in _raw_steps(manager):
                    await conn.execute(step.sql)  # several statements: the simple query protocol
                await tx.run(PiccoloMigration.insert(PiccoloMigration(name=manager.migration_id, app_name=APP_NAME)))
            applied_now.append(manager.migration_id)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()
    return applied_now
