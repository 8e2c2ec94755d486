"""Lists of a merchant's transactions: newest first, cursor by id, filters (§4.2, §4.4).

One query builder serves the API lists, the dashboard's pages, its counts ("1–50 of 1,204") and
its CSV export, so a filter means the same thing on every screen and in every file.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from core.payments.kinds import MACHINES
from core.payments.model import Kind
from core.resources import Resources

EXPORT_BATCH = 500


class ListFilters(msgspec.Struct, frozen=True, kw_only=True):
    status: str | None = None
    reference: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    needs_review: bool | None = None
    payin_id: str | None = None  # refunds of one payin
    amount_gte: int | None = None  # minor units, inclusive
    amount_lte: int | None = None
    method: str | None = None  # payins
    mode: str | None = None  # payouts
    customer: str | None = None  # a payin's customer e-mail (any case) or phone, exactly


def transactions_query(merchant_id: str | None, filters: ListFilters) -> dict[str, Any]:
    """The MongoDB filter of `filters`; `merchant_id` None spans every merchant (admin)."""
    query: dict[str, Any] = {}
    if merchant_id is not None:
        query["merchant_id"] = merchant_id
    for name in ("status", "reference", "needs_review", "payin_id", "method", "mode"):
        value = getattr(filters, name)
        if value is not None and value != "":
            query[name] = value
    for field, low, high, high_op in (
        ("created_at", filters.created_gte, filters.created_lt, "$lt"),
        ("amount", filters.amount_gte, filters.amount_lte, "$lte"),
    ):
        bounds: dict[str, Any] = {}
        if low is not None:
            bounds["$gte"] = low
        if high is not None:
            bounds[high_op] = high
        if bounds:
            query[field] = bounds
    if filters.customer:
        who = filters.customer.strip()
        if "@" in who:  # e-mail addresses are typed in any case; the whole address must match
            query["customer.email"] = {"$regex": f"^{re.escape(who)}$", "$options": "i"}
        else:
            query["customer.phone"] = who
    return query


async def list_transactions(
    res: Resources,
    kind: Kind,
    *,
    merchant_id: str | None,
    limit: int,
    starting_after: str | None = None,
    filters: ListFilters = ListFilters(),
    skip: int = 0,
) -> tuple[list[Any], bool]:
    """One page of `kind` (typed transactions), newest first. The API pages by `starting_after`;
    the dashboard, which shows page numbers, by `skip`."""
    store = MACHINES[kind].store(res)
    query = transactions_query(merchant_id, filters)
    if starting_after:
        query["_id"] = {"$lt": starting_after}
    cursor = store.collection.find(query).sort("_id", -1)
    if skip:
        cursor = cursor.skip(skip)
    docs = await cursor.limit(limit + 1).to_list(limit + 1)
    return [store.decode(d) for d in docs[:limit]], len(docs) > limit


async def count_transactions(res: Resources, kind: Kind, *, merchant_id: str | None, filters: ListFilters) -> int:
    return await MACHINES[kind].store(res).collection.count_documents(transactions_query(merchant_id, filters))


async def every_transaction(
    res: Resources, kind: Kind, *, merchant_id: str | None, filters: ListFilters
) -> AsyncIterator[Any]:
    """Every matching transaction, newest first, in batches by id cursor: an export of any size
    holds one batch in memory, and rows created while it runs do not shift what it reads."""
    after: str | None = None
    while True:
        batch, has_more = await list_transactions(
            res, kind, merchant_id=merchant_id, limit=EXPORT_BATCH, starting_after=after, filters=filters
        )
        for item in batch:
            yield item
        if not has_more or not batch:
            return
        after = batch[-1].id
