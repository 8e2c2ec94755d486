"""Lists of a merchant's transactions: newest first, cursor by id, filters (§4.2, §4.4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.payments.kinds import MACHINES
from core.payments.model import Kind
from core.resources import Resources


class ListFilters(msgspec.Struct, frozen=True, kw_only=True):
    status: str | None = None
    reference: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    needs_review: bool | None = None
    payin_id: str | None = None  # refunds of one payin


async def list_transactions(
    res: Resources,
    kind: Kind,
    *,
    merchant_id: str | None,
    limit: int,
    starting_after: str | None = None,
    filters: ListFilters = ListFilters(),
) -> tuple[list[Any], bool]:
    """One page of `kind` (typed transactions); `merchant_id` None lists every merchant's (admin)."""
    store = MACHINES[kind].store(res)
    query: dict[str, Any] = {}
    if merchant_id is not None:
        query["merchant_id"] = merchant_id
    if starting_after:
        query["_id"] = {"$lt": starting_after}
    for name in ("status", "reference", "needs_review", "payin_id"):
        value = getattr(filters, name)
        if value is not None and value != "":
            query[name] = value
    created: dict[str, Any] = {}
    if filters.created_gte:
        created["$gte"] = filters.created_gte
    if filters.created_lt:
        created["$lt"] = filters.created_lt
    if created:
        query["created_at"] = created
    docs = await store.collection.find(query).sort("_id", -1).limit(limit + 1).to_list(limit + 1)
    return [store.decode(d) for d in docs[:limit]], len(docs) > limit
