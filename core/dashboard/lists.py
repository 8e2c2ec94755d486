"""Payins, payouts and refunds pages: the filtered rows one page at a time, deliveries of one."""

from __future__ import annotations

from typing import Any

import msgspec

from core.dashboard.filters import CHOICES, PAGE_SIZES, PRESETS, read_filters
from core.dashboard.web import Page
from core.payments.kinds import MACHINES
from core.payments.listing import count_transactions, list_transactions
from core.payments.model import STATUSES, Kind


async def transactions_page(page: Page, kind: str) -> dict[str, Any]:
    """The template context of /payins, /payouts or /refunds, scoped to the signed-in merchant:
    one page of the filtered rows, where it sits ("1–25 of 1,204") and the export link."""
    k = Kind(kind)
    parsed = read_filters(k, page.request.query_params, page.brand.timezone)
    skip = (parsed.page - 1) * parsed.size
    found, has_more = await list_transactions(
        page.resources, k, merchant_id=page.merchant_id, limit=parsed.size, filters=parsed.filters, skip=skip
    )
    total = await count_transactions(page.resources, k, merchant_id=page.merchant_id, filters=parsed.filters)
    view = MACHINES[k].view
    base = f"/{kind}s"
    return {
        "kind": kind,
        "title": f"{kind.capitalize()}s",
        "base": base,
        "statuses": STATUSES[k],
        "choices": CHOICES[k],
        "presets": PRESETS,
        "sizes": PAGE_SIZES,
        "size": parsed.size,
        "filters": parsed.values,
        "rows": [msgspec.to_builtins(view(t)) for t in found],
        "position": {"first": skip + 1 if found else 0, "last": skip + len(found), "total": total},
        "newer": f"{base}?{parsed.query(page=parsed.page - 1)}" if parsed.page > 1 else None,
        "older": f"{base}?{parsed.query(page=parsed.page + 1)}" if has_more else None,
        "export": f"{base}.csv?{parsed.query(page=None)}",
        "error": " ".join(parsed.errors) or None,
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
