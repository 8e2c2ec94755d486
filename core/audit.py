"""The audit log (ARCHITECTURE §8): an append-only, keyed hash chain in MongoDB.

Every entry is `{seq, at, actor, action, target, request_id, trace_id, ip, details, key_id,
prev_hash, hash}`. `seq` counts from 1 with no gaps; `prev_hash` is the `hash` of entry
`seq - 1` (64 zeros for the first); `hash` is HMAC-SHA256, under the audit key `key_id` names,
of the canonical JSON of every other field (`keyed_hash`). The key lives in PostgreSQL,
encrypted under the master keys (core/security/audit_keys.py): someone who can write to
MongoDB cannot recompute a valid chain. Appends from many processes stay linear because the
unique index on `seq` lets exactly one writer claim each number: a loser re-reads the tip and
tries again. The head is anchored in PostgreSQL (core/security/audit_anchor.py) and
`verify_chain` compares the chain with the anchor, so truncation shows. See docs/audit.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import re
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from core.ids import new_id
from core.storage.mongo import Mongo

if TYPE_CHECKING:
    from core.storage.postgres import Handle

COLLECTION = "audit_log"
GENESIS_HASH = "0" * 64
MAX_ATTEMPTS = 60
# The fields `hash` covers, in the order documented (serialisation sorts them anyway). Entries
# written before the chain was keyed have no `key_id` and were hashed without it.
LEGACY_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "target",
    "request_id",
    "trace_id",
    "ip",
    "details",
    "prev_hash",
)
HASHED_FIELDS = (*LEGACY_FIELDS, "key_id")
SECRET_KEY = re.compile(r"secret|password|token|signature|authorization|account[_-]?number", re.I)

log = structlog.get_logger("audit")


class AuditAppendError(RuntimeError):
    """An entry could not claim a sequence number within MAX_ATTEMPTS (extreme contention)."""


def _collection(mongo: Mongo | AsyncDatabase[dict[str, Any]]) -> AsyncCollection[dict[str, Any]]:
    db = mongo.db if isinstance(mongo, Mongo) else mongo
    return db[COLLECTION]


def format_at(at: datetime) -> str:
    """`at` as hashed and shown: UTC, millisecond precision (what BSON keeps), with a `Z`."""
    if at.tzinfo is None:  # a driver configured without tz_aware hands back naive UTC
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def scrub(value: Any) -> Any:
    """Drop every dict key that names a secret, at any depth (inside lists too)."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not SECRET_KEY.search(str(k))}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Plain JSON (str keys; datetimes, UUIDs and others as strings) without secrets.

    Normalising through JSON first means what is stored reads back from MongoDB exactly as it
    was hashed (a datetime in details would otherwise lose its microseconds in BSON).
    """
    if not details:
        return {}
    if not isinstance(details, dict):
        raise TypeError("details must be a dict")
    plain = orjson.loads(orjson.dumps(details, default=str, option=orjson.OPT_NON_STR_KEYS))
    return scrub(plain)  # type: ignore[no-any-return]


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes `hash` is computed over: sorted-key orjson of the hashed fields, `at` as text
    (`key_id` only when the entry has one: a legacy entry was hashed without it)."""
    names = HASHED_FIELDS if entry.get("key_id") is not None else LEGACY_FIELDS
    payload = {name: entry.get(name) for name in names}
    at = payload["at"]
    if isinstance(at, datetime):
        payload["at"] = format_at(at)
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: dict[str, Any]) -> str:
    """Unkeyed SHA-256 of the canonical form: what entries written before the chain was keyed
    hold, and all that anyone without the audit key can compute (which no longer verifies)."""
    return hashlib.sha256(canonical(entry)).hexdigest()


def keyed_hash(entry: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of the canonical form under the audit key: the `hash` of a keyed entry."""
    return hmac.new(key, canonical(entry), hashlib.sha256).hexdigest()


def public(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API and CLI show it: no storage `_id`, `at` as an ISO string."""
    shown = {name: entry.get(name) for name in (*HASHED_FIELDS, "hash")}
    if isinstance(shown["at"], datetime):
        shown["at"] = format_at(shown["at"])
    return shown


async def record(
    mongo: Mongo | AsyncDatabase[dict[str, Any]],
    keys: Handle,
    *,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Append one entry at the tip of the chain and return it (public shape).

    `key` makes the append idempotent: an entry already recorded under that key is returned
    instead of a second one (the payments outbox drains may run twice after a crash).

    Read the highest `seq`, insert `seq + 1` chained to its hash; if another writer took that
    number first (duplicate key on `seq`), back off with jitter and retry from a fresh read.
    """
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"audit {name} must be a non-empty string")
    context = structlog.contextvars.get_contextvars()
    base = {
        "actor": actor,
        "action": action,
        "target": target,
        "request_id": _opt_str(context.get("request_id")),
        "trace_id": _opt_str(context.get("trace_id")),
        "ip": ip,
        "details": clean_details(details),
    }
    coll = _collection(mongo)
    # One append at a time per process: concurrent requests of one replica would otherwise all
    # race for the same seq and retry (measured: 17 % of a payout's CPU, docs/performance.md).
    async with _append_lock():
        if key is not None:
            earlier = await coll.find_one({"key": key})
            if earlier is not None:
                return public(earlier)
        return await _append(coll, keys, base, action, key)


async def _append(coll: Any, keys: Handle, base: dict[str, Any], action: str, key: str | None = None) -> dict[str, Any]:
    from core.security import audit_keys  # PostgreSQL and the keyring: loaded when first needed

    seal = await audit_keys.active_key(keys)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tip = await coll.find_one({}, sort=[("seq", DESCENDING)], projection={"seq": 1, "hash": 1})
        entry = {
            "seq": (tip["seq"] + 1) if tip else 1,
            "at": _now(),
            **base,
            "key_id": seal.id,
            "prev_hash": tip["hash"] if tip else GENESIS_HASH,
        }
        entry["hash"] = keyed_hash(entry, seal.key)
        try:
            await coll.insert_one({"_id": new_id("aud"), "key": key or new_id("audk"), **entry})
        except DuplicateKeyError:
            # Lost the race for this seq: wait a little (growing, jittered) and re-read the tip.
            await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * 2 ** min(attempt, 6))))
            continue
        if attempt > 1:
            log.debug("audit entry appended after contention", seq=entry["seq"], attempts=attempt)
        return public(entry)
    raise AuditAppendError(f"audit append gave up after {MAX_ATTEMPTS} attempts ({action})")


_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _append_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


async def expected_hash(keys: Handle, doc: dict[str, Any]) -> str | None:
    """What `doc`'s hash must be: keyed under its `key_id`, or the legacy SHA-256 without one;
    None when it names a key that does not exist."""
    from core.security import audit_keys

    key_id = doc.get("key_id")
    if key_id is None:
        return entry_hash(doc)
    key = await audit_keys.key_by_id(keys, str(key_id))
    return None if key is None else keyed_hash(doc, key)


async def verify_chain(mongo: Mongo | AsyncDatabase[dict[str, Any]], keys: Handle) -> dict[str, Any]:
    """Walk the chain by `seq`, then compare its head with the newest anchor; report the first break.

    `first_bad` is the seq where the chain stops being trustworthy: a missing seq (deleted
    entry), an entry whose `prev_hash` is not its predecessor's hash (deleted or reordered), an
    entry whose hash is not the HMAC of its content (edited, or rewritten by someone without
    the key), an unkeyed entry after a keyed one, or an anchored entry that is gone or differs
    (the newest entries deleted, or the chain replaced).
    """
    from core.security import audit_keys

    db = mongo.db if isinstance(mongo, Mongo) else mongo
    entries = 0
    first_bad: int | None = None
    problem: str | None = None
    expected_seq = 1
    prev_hash = GENESIS_HASH
    keyed_seen = False
    anchor = await audit_keys.latest_anchor(keys, db.name)
    anchored_hash: str | None = None
    cursor = _collection(mongo).find({}, projection={"_id": 0}, sort=[("seq", ASCENDING)])
    async for doc in cursor:
        entries += 1
        if first_bad is not None:
            continue  # keep counting; only the first break is reported
        seq = doc.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            first_bad, problem = expected_seq, f"entry after seq {expected_seq - 1} has no valid seq"
        elif seq > expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            first_bad, problem = expected_seq, f"seq {missing} missing: entry deleted"
        elif seq < expected_seq:
            first_bad, problem = seq, f"seq {seq} appears more than once"
        elif doc.get("prev_hash") != prev_hash:
            first_bad = seq
            problem = (
                f"seq {seq}: prev_hash does not match the hash of seq {seq - 1}"
                if seq > 1
                else "seq 1: prev_hash is not the genesis hash"
            ) + " (entry deleted, reordered or rewritten)"
        elif keyed_seen and doc.get("key_id") is None:
            first_bad, problem = seq, f"seq {seq}: unkeyed entry after keyed ones (rewritten without the key)"
        elif (wanted := await expected_hash(keys, doc)) is None:
            first_bad, problem = seq, f"seq {seq}: sealed with unknown audit key {doc.get('key_id')!r}"
        elif not hmac.compare_digest(wanted, str(doc.get("hash"))):
            first_bad, problem = (
                seq,
                f"seq {seq}: hash does not match its content (edited, or rewritten without the key)",
            )
        else:
            expected_seq = seq + 1
            prev_hash = doc["hash"]
            keyed_seen = keyed_seen or doc.get("key_id") is not None
            if anchor is not None and seq == anchor[0]:
                anchored_hash = doc["hash"]
    if first_bad is None and anchor is not None:
        anchored_seq, anchored = anchor
        if expected_seq <= anchored_seq:
            first_bad = expected_seq
            gone = f"{expected_seq}" if expected_seq == anchored_seq else f"{expected_seq}-{anchored_seq}"
            problem = f"seq {gone} missing: the chain ends before its anchor (newest entries deleted)"
        elif anchored_hash != anchored:
            first_bad, problem = anchored_seq, f"seq {anchored_seq}: differs from its anchor (chain replaced)"
    return {"ok": first_bad is None, "entries": entries, "first_bad": first_bad, "problem": problem}


async def list_entries(
    mongo: Mongo | AsyncDatabase[dict[str, Any]],
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
    starting_after: int | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Entries newest first (by seq), filtered; `starting_after` is the seq of the last one seen."""
    if not 1 <= limit <= 100:
        raise ValueError("limit must be between 1 and 100")
    query: dict[str, Any] = {}
    if actor is not None:
        query["actor"] = actor
    if action is not None:
        query["action"] = action
    if target is not None:
        query["target"] = target
    if since is not None:
        query["at"] = {"$gte": since if since.tzinfo else since.replace(tzinfo=UTC)}
    if starting_after is not None:
        query["seq"] = {"$lt": starting_after}
    cursor = _collection(mongo).find(query, sort=[("seq", DESCENDING)], limit=limit + 1)
    docs = [doc async for doc in cursor]
    return [public(doc) for doc in docs[:limit]], len(docs) > limit
