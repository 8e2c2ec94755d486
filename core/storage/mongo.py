"""MongoDB through PyMongo's AsyncMongoClient: the one module that talks to it.

Works against real MongoDB (production, replica set) and the wire-compatible nx-27017 (dev,
CI): money is integer minor units (no Decimal128), ids are strings, and indexes are declared
here once and created by `gateway migrate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]  # a MongoDB document as PyMongo hands it over (typed structs decode these)

# collection -> list of (keys, options). Unique indexes are what make retries safe.
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "payins": [
        ([("merchant_id", ASCENDING), ("reference", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("status", ASCENDING), ("expires_at", ASCENDING)], {}),
        ([("status", ASCENDING), ("updated_at", ASCENDING)], {}),
        ([("needs_review", ASCENDING)], {}),
    ],
    "payouts": [
        ([("merchant_id", ASCENDING), ("reference", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("status", ASCENDING), ("updated_at", ASCENDING)], {}),
        ([("needs_review", ASCENDING)], {}),
    ],
    "refunds": [
        ([("merchant_id", ASCENDING), ("reference", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("payin_id", ASCENDING)], {}),
        ([("status", ASCENDING), ("updated_at", ASCENDING)], {}),
        ([("needs_review", ASCENDING)], {}),
    ],
    "events": [
        ([("object_id", ASCENDING), ("type", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
    ],
    "webhook_deliveries": [
        ([("event_id", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("status", ASCENDING), ("next_attempt_at", ASCENDING)], {}),
    ],
    "provider_callbacks": [
        ([("provider", ASCENDING), ("event_id", ASCENDING)], {"unique": True}),
    ],
    "audit_log": [
        ([("seq", ASCENDING)], {"unique": True}),
        ([("key", ASCENDING)], {}),
        ([("actor", ASCENDING), ("seq", DESCENDING)], {}),
        ([("target", ASCENDING), ("seq", DESCENDING)], {}),
    ],
    "reconciliation_reports": [([("date", ASCENDING)], {"unique": True})],
}


class Mongo:
    """The client and the database named by MONGO_URL's path."""

    def __init__(self, url: str, database: str) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000
        )
        self.db: AsyncDatabase[dict[str, Any]] = self.client[database]

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def ensure_indexes(self) -> None:
        for collection, specs in INDEXES.items():
            for keys, options in specs:
                await self.db[collection].create_index(keys, **options)
        # Transactions are compared-and-set on `version`: documents written before every insert
        # carried one get version 0 (an integer `$set` is kept exactly by nx-27017 too).
        for collection in ("payins", "payouts", "refunds"):
            await self.db[collection].update_many({"version": {"$exists": False}}, {"$set": {"version": 0}})

    async def close(self) -> None:
        await self.client.close()


def version_filter(doc: dict[str, Any]) -> dict[str, Any]:
    """Match `doc` only as it was read: same `_id`, same `version` (absent on documents written
    before versions existed)."""
    version = doc.get("version")
    return {"_id": doc["_id"], "version": version if version is not None else {"$exists": False}}


async def replace_if_unchanged(collection: Any, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """Write `new` in place of `current` only if nobody wrote the document since `current` was
    read; the stored document (version bumped) or None when another writer came first.

    The one compare-and-set of the project. Updates go through a whole-document replace rather
    than `$set`/`$push`/`$addToSet` because the MongoDB-compatible server of development and CI
    (nx-27017) stores a `$set` datetime as a string, a `$set` boolean as an integer, `$push`ed
    subdocuments as JSON text, and ignores `$addToSet`; a replace guarded by a version is kept
    exactly, and atomically, on both it and real MongoDB (docs/decisions.md).
    """
    stored = {**new, "version": int(current.get("version") or 0) + 1}
    stored.pop("_id", None)
    result = await collection.replace_one(version_filter(current), stored)
    if result.matched_count != 1:
        return None
    stored["_id"] = current["_id"]
    return stored


async def compare_and_set(
    collection: Any,
    doc_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    current: dict[str, Any] | None = None,
    attempts: int = 50,
) -> dict[str, Any] | None:
    """Read-modify-replace until it sticks: `change(doc)` returns the new document, or None to
    leave it as it is. `current` is a copy the caller already read (saves the first read; a stale
    one only costs a retry). Returns the stored document, or None when `change` declined or the
    document does not exist."""
    for _ in range(attempts):
        if current is None:
            current = await collection.find_one({"_id": doc_id})
            if current is None:
                return None
        updated = change(dict(current))
        if updated is None:
            return None
        stored = await replace_if_unchanged(collection, current, updated)
        if stored is not None:
            return stored
        current = None
    raise RuntimeError(f"update of {doc_id} kept losing races ({attempts} attempts)")
