"""MongoDB through PyMongo's AsyncMongoClient: the one module that talks to it.

Works against real MongoDB (production, replica set) and the wire-compatible nx-27017 (dev,
CI): money is integer minor units (no Decimal128), ids are strings, and indexes are declared
here once and created by `gateway migrate`.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

# collection -> list of (keys, options). Unique indexes are what make retries safe.
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "payins": [
        ([("merchant_id", ASCENDING), ("reference", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("status", ASCENDING), ("expires_at", ASCENDING)], {}),
    ],
    "payouts": [
        ([("merchant_id", ASCENDING), ("reference", ASCENDING)], {"unique": True}),
        ([("merchant_id", ASCENDING), ("created_at", DESCENDING)], {}),
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

    async def close(self) -> None:
        await self.client.close()


async def update_doc(
    collection: Any,
    doc_id: str,
    change: Any,
    *,
    attempts: int = 50,
) -> dict[str, Any] | None:
    """Read-modify-replace with optimistic concurrency on a `version` field.

    `change(doc)` returns the new document, or None to leave it as it is. Updates go through
    here rather than `$set`/`$push`/`$addToSet` because the MongoDB-compatible server used in
    development and CI (nx-27017) stores a `$set` datetime as a string, a `$set` boolean as an
    integer, `$push`ed subdocuments as JSON text, and ignores `$addToSet`; a whole-document
    replace is kept exactly on both it and real MongoDB (docs/decisions.md). Returns the stored
    document, or None when `change` declined or the document does not exist.
    """
    for _ in range(attempts):
        current = await collection.find_one({"_id": doc_id})
        if current is None:
            return None
        updated = change(dict(current))
        if updated is None:
            return None
        version = current.get("version", 0)
        updated["version"] = version + 1
        updated.pop("_id", None)
        match: dict[str, Any] = (
            {"_id": doc_id, "version": version}
            if "version" in current
            else {
                "_id": doc_id,
                "version": {"$exists": False},
            }
        )
        result = await collection.replace_one(match, updated)
        if result.matched_count == 1:
            updated["_id"] = doc_id
            return updated
    raise RuntimeError(f"update of {doc_id} kept losing races ({attempts} attempts)")
