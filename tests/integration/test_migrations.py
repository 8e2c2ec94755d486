"""`gateway migrate` on scratch PostgreSQL databases: a fresh database, one the old runner left
(adopted, nothing re-run), and two migrators at once (core/storage/migrate.py)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from core.storage.migrate import FOLDER, migrate

IDS = sorted(p.stem for p in Path(FOLDER).glob("*.sql"))


@pytest.fixture
async def scratch_url() -> AsyncIterator[str]:
    """An empty database beside the session's, dropped afterwards."""
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"gw_mig_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def recorded(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT name FROM migration WHERE app_name = 'gateway' ORDER BY name")
        return [r["name"] for r in rows]
    finally:
        await conn.close()


async def old_runner(url: str, names: list[str]) -> None:
    """What the deleted SQL-file runner left: each file applied, its name in schema_migrations."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())"
        )
        for name in names:
            await conn.execute((Path(FOLDER) / f"{name}.sql").read_text())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
    finally:
        await conn.close()


def test_the_migrations_are_the_sql_files_in_order() -> None:
    assert IDS[0] == "0001_init" and "0200_ledger" in IDS
    assert sorted(p.stem.removeprefix("m") for p in Path(FOLDER).glob("m*.py")) == IDS


async def test_a_fresh_database_gets_every_migration_once(scratch_url: str) -> None:
    assert await migrate(scratch_url) == IDS
    assert await recorded(scratch_url) == IDS
    assert await migrate(scratch_url) == []  # idempotent
    conn = await asyncpg.connect(scratch_url)
    try:
        # The raw SQL came through: the ledger's append-only trigger refuses an UPDATE.
        await conn.execute(
            "INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, currency)"
            " VALUES ('je_1', 'k1', 'test', 'tx', 'INR')"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE journal_entries SET kind = 'changed'")
    finally:
        await conn.close()


async def test_a_database_of_the_old_runner_is_adopted_without_rerunning(scratch_url: str) -> None:
    await old_runner(scratch_url, IDS[:-2])
    # Re-running 0100_security would fail (CREATE TABLE merchants without IF NOT EXISTS): only the
    # two the old runner had not applied run now, the others are recorded as applied.
    assert await migrate(scratch_url) == IDS[-2:]
    assert await recorded(scratch_url) == IDS
    assert await migrate(scratch_url) == []


async def test_two_migrators_at_once_apply_each_migration_once(scratch_url: str) -> None:
    first, second = await asyncio.gather(migrate(scratch_url), migrate(scratch_url))
    assert sorted(first + second) == IDS  # one applied everything, the other waited and found nothing
    assert [] in (first, second)
    assert await recorded(scratch_url) == IDS
