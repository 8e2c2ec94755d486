"""Runs after the other integration tests: no secret handed out in this session appears in
PostgreSQL, MongoDB, Redis or any captured log line."""

from __future__ import annotations

from pathlib import Path

import orjson

from core.storage.postgres import Handle
from tests.fixtures.merchants import SEEN_SECRETS


async def _postgres_dump(db: Handle) -> str:
    tables = await db.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    parts = []
    for row in tables:
        dump = await db.sql(f"SELECT coalesce(json_agg(t)::text, '') AS j FROM \"{row['tablename']}\" t")
        parts.append(dump[0]["j"])
    return "\n".join(parts)


async def _mongo_dump(db) -> str:
    parts = []
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            parts.append(orjson.dumps(doc, default=str).decode())
    return "\n".join(parts)


async def _redis_dump(redis) -> str:
    parts = []
    async for key in redis.scan_iter(count=500):
        parts.append(key.decode(errors="replace"))
        kind = (await redis.type(key)).decode()
        if kind == "string":
            parts.append((await redis.get(key) or b"").decode(errors="replace"))
        elif kind == "hash":
            parts.append(str(await redis.hgetall(key)))
    return "\n".join(parts)


def _logs() -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path("test-artifacts/logs").glob("*.log"))


async def test_no_secret_in_any_store_or_log(resources) -> None:
    assert SEEN_SECRETS, "the session handed out no secrets: this scan would prove nothing"
    stores = {
        "postgres": await _postgres_dump(resources.db),
        "mongo": await _mongo_dump(resources.mongo.db),
        "redis": await _redis_dump(resources.redis),
        "logs": _logs(),
    }
    assert all(stores.values()), [name for name, text in stores.items() if not text]
    for name, text in stores.items():
        leaked = [s[:8] + "..." for s in SEEN_SECRETS if s in text]
        assert not leaked, f"{name} holds plaintext secrets: {leaked}"
