"""Payins and payouts pages: filters from the query string, one page of rows, deliveries of one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec

from core.dashboard.web import Page
from core.payments.kinds import MACHINES
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import STATUSES, Kind

PAGE_SIZE = 25


def _day(text: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC) if text else None


async def transactions_page(page: Page, kind: str) -> dict[str, Any]:
    """The template context of /payins or /payouts, scoped to the signed-in merchant."""
    statuses = STATUSES[Kind(kind)]
    params = page.request.query_params
    filters = {name: (params.get(name) or "").strip() for name in ("status", "reference", "created_from", "created_to")}
    after = (params.get("starting_after") or "").strip()[:64] or None
    error = None
    if filters["status"] and filters["status"] not in statuses:
        filters["status"] = ""
    try:
        created_gte = _day(filters["created_from"])
        to_day = _day(filters["created_to"])
    except ValueError:
        created_gte = to_day = None
        error = "Dates must be given as YYYY-MM-DD."
    found, has_more = await list_transactions(
        page.resources,
        Kind(kind),
        merchant_id=page.merchant_id,
        limit=PAGE_SIZE,
        starting_after=after,
        filters=ListFilters(
            status=filters["status"] or None,
            reference=filters["reference"] or None,
            created_gte=created_gte,
            created_lt=to_day + timedelta(days=1) if to_day else None,  # "before" includes that day
        ),
    )
    view = MACHINES[Kind(kind)].view
    rows = [msgspec.to_builtins(view(t)) for t in found]
    return {
        "kind": kind,
        "title": f"{kind.capitalize()}s",
        "base": f"/{kind}s",
        "statuses": statuses,
        "filters": filters,
        "rows": rows,
        "has_more": has_more,
        "after": after,
        "error": error,
        "query": urlencode({k: v for k, v in filters.items() if v}),
    }


async def deliveries_of(page: Page, object_id: str) -> list[dict[str, Any]]:
    """Webhook deliveries of every event about one payin or payout of this merchant."""
    from core.webhooks.service import public_delivery

    db = page.resources.mongo.db
    events = await db.events.find({"object_id": object_id, "merchant_id": page.merchant_id}).to_list(50)
    if not events:
        return []
    docs = (
        await db.webhook_deliveries.find(
            {"merchant_id": page.merchant_id, "event_id": {"$in": [e["_id"] for e in events]}}
        )
        .sort("_id", -1)
        .to_list(50)
    )
    return [public_delivery(d) for d in docs]
