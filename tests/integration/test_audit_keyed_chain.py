"""The audit chain resists rewriting and truncation (issue 17, item 6; ARCHITECTURE §8).

A real api role appends and anchors into a chain of its own (a private MongoDB database on the
session's server); `gateway audit verify` runs as the operator runs it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from pymongo import ASCENDING

from core import audit
from core.local_services import free_port
from core.security import audit_keys
from core.security.audit_anchor import anchor_tip
from core.storage.mongo import Mongo
from core.storage.postgres import Database
from tests.fixtures.processes import RoleProcess
from tests.integration.test_audit import build_chain, url_for


def cli_verify(database: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "core", "audit", "verify", "--json"],
        env={**os.environ, "MONGO_URL": url_for(database)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1, (done.stdout, done.stderr[-2000:])
    return done.returncode, orjson.loads(done.stdout)


@pytest.fixture
async def chain_db(db: Database) -> AsyncIterator[Mongo]:
    name = f"audit_keyed_{secrets.token_hex(4)}"
    mongo = Mongo(url_for(name), name)
    await mongo.ensure_indexes()
    try:
        yield mongo
    finally:
        await db.sql("DELETE FROM audit_anchors WHERE chain = {}", name)
        await mongo.client.drop_database(name)
        await mongo.close()


async def rewrite_from(coll: Any, seq: int, change: dict[str, Any], *, drop_key_id: bool = False) -> None:
    """What someone with MongoDB write access but without the key can do: edit entry `seq` and
    recompute it and every later entry with the published `core.audit.entry_hash`."""
    docs = [d async for d in coll.find({"seq": {"$gte": seq - 1}}, sort=[("seq", ASCENDING)])]
    prev_hash = docs[0]["hash"]
    for doc in docs[1:]:
        if doc["seq"] == seq:
            doc.update(change)
        if drop_key_id:
            doc.pop("key_id", None)
        doc["prev_hash"] = prev_hash
        doc["hash"] = audit.entry_hash(doc)
        prev_hash = doc["hash"]
        await coll.replace_one({"_id": doc["_id"]}, doc)


@pytest.mark.parametrize("drop_key_id", [False, True])
async def test_a_chain_rewritten_without_the_key_is_caught_at_the_first_rewritten_entry(
    db: Database, chain_db: Mongo, drop_key_id: bool
) -> None:
    await build_chain(db, chain_db, 10)
    await rewrite_from(chain_db.db["audit_log"], 4, {"details": {"i": 4_000_000}}, drop_key_id=drop_key_id)
    report = await audit.verify_chain(chain_db, db)
    assert report["ok"] is False and report["first_bad"] == 4 and report["entries"] == 10, report
    code, out = await asyncio.to_thread(cli_verify, chain_db.db.name)
    assert code == 1 and out["first_bad"] == 4 and "without the key" in out["problem"]


async def test_an_entry_sealed_with_an_unknown_key_is_refused(db: Database, chain_db: Mongo) -> None:
    await build_chain(db, chain_db, 3)
    await chain_db.db["audit_log"].update_one({"seq": 2}, {"$set": {"key_id": "akey_forged"}})
    report = await audit.verify_chain(chain_db, db)
    assert report["first_bad"] == 2 and "unknown audit key" in report["problem"]


async def test_a_rotated_key_keeps_old_entries_verifiable(db: Database, chain_db: Mongo) -> None:
    await build_chain(db, chain_db, 3)
    old = (await audit_keys.active_key(db)).id
    new = await audit_keys.rotate_key(db)
    assert new != old
    for i in range(3):
        await audit.record(chain_db, db, actor="system", action="test.rotated", target=f"t{i}")
    docs = [d async for d in chain_db.db["audit_log"].find({}, sort=[("seq", ASCENDING)])]
    assert [d["key_id"] for d in docs] == [old] * 3 + [new] * 3
    assert await audit.verify_chain(chain_db, db) == {"ok": True, "entries": 6, "first_bad": None, "problem": None}
    # The keys are ciphertexts under the master keys in PostgreSQL: nothing in MongoDB holds them.
    sealed = await db.sql("SELECT key_enc FROM audit_keys WHERE id = ANY({}::text[])", [old, new])
    assert len(sealed) == 2 and all(r["key_enc"].startswith("v1:") for r in sealed)


async def test_entries_from_before_the_key_verify_only_as_a_prefix(db: Database, chain_db: Mongo) -> None:
    coll = chain_db.db["audit_log"]
    prev = audit.GENESIS_HASH
    for seq in (1, 2):  # written by the release before keyed hashing
        doc = {
            "_id": f"aud_legacy{seq}",
            "seq": seq,
            "at": audit._now(),
            "actor": "system",
            "action": "legacy",
            "target": "t",
            "request_id": None,
            "trace_id": None,
            "ip": None,
            "details": {},
            "prev_hash": prev,
        }
        doc["hash"] = prev = audit.entry_hash(doc)
        await coll.insert_one(doc)
    await audit.record(chain_db, db, actor="system", action="keyed", target="t")
    assert (await audit.verify_chain(chain_db, db))["ok"] is True


async def test_the_head_is_anchored_while_appending_and_truncation_is_detected(
    db: Database, chain_db: Mongo, admin_token: str
) -> None:
    name = chain_db.db.name
    port = free_port()
    role = RoleProcess(["serve", "--role", "api", "--port", str(port)], port, {"MONGO_URL": url_for(name)}, "api-audit")
    try:
        await asyncio.to_thread(role.wait_live, "/health/live", 90)
        async with httpx.AsyncClient(base_url=role.url, timeout=30) as http:
            for i in range(3):  # each change is audited by the role, in this chain
                created = await http.post(
                    "/admin/v1/merchants",
                    json={"name": f"Anchored {i}"},
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
                assert created.status_code == 201, created.text
        appended = time.monotonic()
        tip = await chain_db.db["audit_log"].find_one({}, sort=[("seq", -1)])
        assert tip is not None and tip["seq"] == 3
        while (anchor := await audit_keys.latest_anchor(db, name)) is None or anchor[0] < tip["seq"]:
            assert time.monotonic() - appended < 10, f"not anchored within 10 s of the append: {anchor}"
            await asyncio.sleep(0.2)
        assert anchor == (3, tip["hash"])
        code, out = await asyncio.to_thread(cli_verify, name)
        assert (code, out) == (0, {"ok": True, "entries": 3, "first_bad": None})

        await chain_db.db["audit_log"].delete_one({"seq": 3})  # the newest entry, after it was anchored
        code, out = await asyncio.to_thread(cli_verify, name)
        assert code == 1 and out["first_bad"] == 3 and out["entries"] == 2 and "anchor" in out["problem"]
        assert await anchor_tip(chain_db, db) is None  # a shorter chain is never anchored over its anchor
    finally:
        role.stop()


async def test_a_chain_replaced_below_its_anchor_is_detected(db: Database, chain_db: Mongo) -> None:
    await build_chain(db, chain_db, 4)
    assert await anchor_tip(chain_db, db) == 4
    # The whole log dropped and written again (with the key, so every link and hash is valid).
    await chain_db.db["audit_log"].delete_many({})
    for i in range(5):
        await audit.record(chain_db, db, actor="system", action="replacement", target=f"r{i}")
    report = await audit.verify_chain(chain_db, db)
    assert report["ok"] is False and report["first_bad"] == 4 and "anchor" in report["problem"]
