"""Lists of payins and payouts for a merchant: newest first, cursor by id, filters (§4.2, §4.4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection


async def list_transactions(
    collection: AsyncCollection[dict[str, Any]],
    shape: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    merchant_id: str | None,
    limit: int,
    starting_after: str | None = None,
    status: str | None = None,
    reference: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    query: dict[str, Any] = dict(extra or {})
    if merchant_id is not None:
        query["merchant_id"] = merchant_id
    if starting_after:
        query["_id"] = {"$lt": starting_after}
    if status:
        query["status"] = status
    if reference:
        query["reference"] = reference
    created: dict[str, Any] = {}
    if created_gte:
        created["$gte"] = created_gte
    if created_lt:
        created["$lt"] = created_lt
    if created:
        query["created_at"] = created
    docs = await collection.find(query).sort("_id", -1).limit(limit + 1).to_list(limit + 1)
    return [shape(d) for d in docs[:limit]], len(docs) > limit
