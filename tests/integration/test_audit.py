"""The audit log against the session's real nx-27017: chaining, concurrency, tampering, the CLI.

Tests that break a chain do it in a database of their own on the same server (dropped after),
so the session's shared `audit_log` stays valid for every other test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
import structlog

from core import audit
from core.resources import Resources
from core.security import audit_keys
from core.storage.mongo import Mongo
from core.storage.postgres import Database, Handle

WORKERS = 4
PER_WORKER = 25

# One writer process: waits on stdin so all writers start together, then appends.
WRITER = """
import asyncio, sys
from core.audit import record
from core.config import load_settings
from core.storage.mongo import Mongo
from core.storage.postgres import Database, Handle

async def main(url, db, worker, count):
    mongo = Mongo(url, db)
    keys = Database(load_settings().database_url)
    await keys.open(max_size=1)
    try:
        await mongo.ping()
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(count):
            await record(mongo, keys, actor=f"worker-{worker}", action="test.concurrent",
                         target=f"w{worker}-{i}", details={"i": i, "token": "tok-should-vanish"})
    finally:
        await mongo.close()
        await keys.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def url_for(database: str) -> str:
    parts = urlsplit(os.environ["MONGO_URL"])
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture
async def private_db() -> AsyncIterator[Mongo]:
    """A fresh database on the session's server with the production indexes; dropped after."""
    name = f"audit_tamper_{secrets.token_hex(4)}"
    mongo = Mongo(url_for(name), name)
    await mongo.ensure_indexes()
    try:
        yield mongo
    finally:
        await mongo.client.drop_database(name)
        await mongo.close()


async def build_chain(db: Handle, mongo: Mongo, n: int = 10) -> None:
    for i in range(1, n + 1):
        await audit.record(mongo, db, actor="admin:ops", action="merchant.update", target=f"mer_{i}", details={"i": i})
    report = await audit.verify_chain(mongo, db)
    assert report == {"ok": True, "entries": n, "first_bad": None, "problem": None}


def cli_verify(database: str | None = None) -> tuple[int, dict[str, object], str]:
    env = dict(os.environ)
    if database is not None:
        env["MONGO_URL"] = url_for(database)
    done = subprocess.run(
        [sys.executable, "-c", "from core.cli.audit import audit; audit()", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must be one JSON value: {done.stdout!r} {done.stderr[-2000:]}"
    return done.returncode, orjson.loads(lines[0]), done.stderr


async def test_append_and_verify_on_the_session_chain(resources: Resources) -> None:
    mongo = resources.mongo
    actor = f"admin:test-{secrets.token_hex(3)}"
    structlog.contextvars.bind_contextvars(request_id="req_audit_1", trace_id="ab" * 16)
    try:
        first = await audit.record(
            mongo, resources.db, actor=actor, action="merchant.create", target="mer_A", ip="203.0.113.7"
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id", "trace_id")
    second = await audit.record(
        mongo, resources.db, actor=actor, action="merchant.update", target="mer_A", details={"status": "active"}
    )
    assert first["request_id"] == "req_audit_1" and first["trace_id"] == "ab" * 16
    assert first["ip"] == "203.0.113.7" and first["details"] == {}
    assert second["request_id"] is None and second["seq"] > first["seq"]
    assert first["at"].endswith("Z") and len(first["hash"]) == 64
    stored = await mongo.db["audit_log"].find_one({"seq": second["seq"]})
    key = await audit_keys.key_by_id(resources.db, second["key_id"])
    assert key is not None and stored is not None
    assert stored["hash"] == audit.keyed_hash(stored, key) == second["hash"] != audit.entry_hash(stored)
    assert isinstance(stored["_id"], str) and isinstance(stored["at"], datetime)
    before = await mongo.db["audit_log"].find_one({"seq": second["seq"] - 1})
    assert before is not None and second["prev_hash"] == before["hash"]

    report = await audit.verify_chain(mongo, resources.db)
    assert report["ok"], report
    assert report["entries"] == await mongo.db["audit_log"].count_documents({})

    # The admin API's listing: newest first, filters, seq cursor.
    page, more = await audit.list_entries(mongo, actor=actor, limit=1)
    assert [e["seq"] for e in page] == [second["seq"]] and more is True
    page, more = await audit.list_entries(mongo, actor=actor, starting_after=second["seq"])
    assert [e["seq"] for e in page] == [first["seq"]] and more is False
    assert "_id" not in page[0] and page[0] == first
    page, _ = await audit.list_entries(mongo, actor=actor, action="merchant.update", target="mer_A")
    assert [e["seq"] for e in page] == [second["seq"]]
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert await audit.list_entries(mongo, actor=actor, since=future) == ([], False)
    past = datetime.now(UTC) - timedelta(minutes=5)
    page, _ = await audit.list_entries(mongo, actor=actor, since=past)
    assert len(page) == 2


async def test_concurrent_appends_from_processes_keep_one_linear_chain(db: Database, private_db: Mongo) -> None:
    name = private_db.db.name
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            url_for(name),
            name,
            str(w),
            str(PER_WORKER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for w in range(WORKERS)
    ]
    try:
        for proc in procs:  # barrier: every writer connected before any appends
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line.strip() == b"ready", line
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        await asyncio.gather(*(proc.stdin.drain() for proc in procs if proc.stdin))
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
        for proc, (_, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err.decode()[-3000:]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    total = WORKERS * PER_WORKER
    report = await audit.verify_chain(private_db, db)
    assert report == {"ok": True, "entries": total, "first_bad": None, "problem": None}
    docs = [d async for d in private_db.db["audit_log"].find({}, sort=[("seq", 1)])]
    assert [d["seq"] for d in docs] == list(range(1, total + 1))
    assert all(docs[i]["prev_hash"] == docs[i - 1]["hash"] for i in range(1, total))
    assert len({d["hash"] for d in docs}) == total
    for w in range(WORKERS):
        mine = [d["details"]["i"] for d in docs if d["actor"] == f"worker-{w}"]
        assert mine == list(range(PER_WORKER))  # each writer's own entries in its own order
    assert all(d["details"] == {"i": d["details"]["i"]} for d in docs)  # token dropped
    # The writers really raced: the chain interleaves them rather than holding 4 blocks.
    switches = sum(docs[i]["actor"] != docs[i - 1]["actor"] for i in range(1, total))
    assert switches > WORKERS, f"writers did not overlap (only {switches} switches)"


async def test_verify_names_an_edited_entry(db: Database, private_db: Mongo) -> None:
    await build_chain(db, private_db)
    await private_db.db["audit_log"].update_one({"seq": 5}, {"$set": {"details.i": 500}})
    report = await audit.verify_chain(private_db, db)
    assert report["ok"] is False and report["first_bad"] == 5 and report["entries"] == 10
    assert "edited" in report["problem"]


async def test_verify_names_an_edit_whose_hash_was_recomputed(db: Database, private_db: Mongo) -> None:
    await build_chain(db, private_db)
    coll = private_db.db["audit_log"]
    doc = await coll.find_one({"seq": 4})
    assert doc is not None
    doc["actor"] = "someone-else"
    await coll.update_one({"seq": 4}, {"$set": {"actor": doc["actor"], "hash": audit.entry_hash(doc)}})
    report = await audit.verify_chain(private_db, db)
    # Without the key the recomputed hash is not the entry's HMAC: caught at the entry itself.
    assert report["ok"] is False and report["first_bad"] == 4
    assert "without the key" in report["problem"]


@pytest.mark.parametrize("deleted", [1, 6])
async def test_verify_names_a_deleted_entry(db: Database, private_db: Mongo, deleted: int) -> None:
    await build_chain(db, private_db)
    await private_db.db["audit_log"].delete_one({"seq": deleted})
    report = await audit.verify_chain(private_db, db)
    assert report["ok"] is False and report["first_bad"] == deleted and report["entries"] == 9
    assert "deleted" in report["problem"]


async def test_verify_names_a_reordered_entry(db: Database, private_db: Mongo) -> None:
    await build_chain(db, private_db)
    coll = private_db.db["audit_log"]
    # Swap seq 6 and 7 (through a free value: seq is unique).
    await coll.update_one({"seq": 6}, {"$set": {"seq": -1}})
    await coll.update_one({"seq": 7}, {"$set": {"seq": 6}})
    await coll.update_one({"seq": -1}, {"$set": {"seq": 7}})
    report = await audit.verify_chain(private_db, db)
    assert report["ok"] is False and report["first_bad"] == 6 and report["entries"] == 10
    assert "reordered" in report["problem"]


async def test_secrets_in_details_are_dropped(db: Database, private_db: Mongo) -> None:
    details = {
        "name": "Acme",
        "webhook_secret": "whsec-LEAK-1",
        "Password": "LEAK-2",
        "auth": {"Authorization": "Bearer LEAK-3", "scheme": "bearer"},
        "keys": [{"key_id": "key_1", "api_token": "LEAK-4"}],
        "beneficiary": {"accountNumber": "LEAK-5", "account_number": "LEAK-6", "ifsc": "HDFC0001"},
        "X-Signature": "LEAK-7",
    }
    entry = await audit.record(
        private_db, db, actor="admin:ops", action="merchant.create", target="mer_X", details=details
    )
    expected = {
        "name": "Acme",
        "auth": {"scheme": "bearer"},
        "keys": [{"key_id": "key_1"}],
        "beneficiary": {"ifsc": "HDFC0001"},
    }
    assert entry["details"] == expected
    stored = await private_db.db["audit_log"].find_one({"seq": entry["seq"]})
    assert stored is not None and stored["details"] == expected
    assert "LEAK" not in repr(stored)
    assert (await audit.verify_chain(private_db, db))["ok"] is True


async def test_cli_verify_prints_the_contract_and_exits_1_when_broken(db: Database, private_db: Mongo) -> None:
    name = private_db.db.name
    code, out, _ = await asyncio.to_thread(cli_verify, name)
    assert (code, out) == (0, {"ok": True, "entries": 0, "first_bad": None})
    await build_chain(db, private_db, 6)
    code, out, _ = await asyncio.to_thread(cli_verify, name)
    assert (code, out) == (0, {"ok": True, "entries": 6, "first_bad": None})
    await private_db.db["audit_log"].update_one({"seq": 3}, {"$set": {"target": "mer_other"}})
    code, out, err = await asyncio.to_thread(cli_verify, name)
    assert code == 1, err[-2000:]
    assert out["ok"] is False and out["entries"] == 6 and out["first_bad"] == 3
    assert "edited" in str(out["problem"])


async def test_cli_verify_passes_on_the_session_chain(resources: Resources) -> None:
    await audit.record(resources.mongo, resources.db, actor="system", action="test.cli", target="session")
    code, out, err = await asyncio.to_thread(cli_verify)
    assert code == 0, err[-2000:]
    assert out["ok"] is True and out["first_bad"] is None and isinstance(out["entries"], int)
    assert out["entries"] >= 1 and set(out) == {"ok", "entries", "first_bad"}
