"""What the merchant API shows about webhooks (§4.4, §4.7): events, deliveries, manual retry.

Every query is scoped to the calling merchant: another merchant's id is `not_found`.
"""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import DESCENDING

from core import audit
from core.errors import ApiError, not_found
from core.events import EVENT_TYPES, public_event
from core.resources import Resources
from core.timeutil import iso, utcnow
from core.webhooks.delivery import CAS_TRIES, compare_and_set, enqueue_attempt

DELIVERY_STATUSES = ("pending", "delivered", "failed", "skipped")


def public_attempt(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": iso(entry.get("at")),
        "status_code": entry.get("status_code"),
        "latency_ms": entry.get("latency_ms"),
        "error": entry.get("error"),
        "response_excerpt": entry.get("response_excerpt", ""),
    }


def public_delivery(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "object": "webhook_delivery",
        "event_id": doc["event_id"],
        "event_type": doc.get("event_type"),
        "url": doc.get("url"),
        "status": doc["status"],
        "attempts": [public_attempt(a) for a in doc.get("attempts", [])],
        "next_attempt_at": iso(doc.get("next_attempt_at")) if doc["status"] == "pending" else None,
        "created_at": iso(doc.get("created_at")),
    }


async def _page(
    res: Resources, collection: str, query: dict[str, Any], limit: int, starting_after: str | None
) -> tuple[list[dict[str, Any]], bool]:
    if starting_after:
        query["_id"] = {"$lt": starting_after}
    cursor = res.mongo.db[collection].find(query, sort=[("_id", DESCENDING)], limit=limit + 1)
    docs = [d async for d in cursor]
    return docs[:limit], len(docs) > limit


async def list_events(
    res: Resources, merchant_id: str, *, limit: int, starting_after: str | None = None, type: str | None = None
) -> tuple[list[dict[str, Any]], bool]:
    query: dict[str, Any] = {"merchant_id": merchant_id}
    if type is not None:
        if type not in EVENT_TYPES:
            raise ApiError("validation_error", f"type must be one of {', '.join(EVENT_TYPES)}", param="type")
        query["type"] = type
    docs, has_more = await _page(res, "events", query, limit, starting_after)
    return [public_event(d) for d in docs], has_more


async def get_event(res: Resources, merchant_id: str, event_id: str) -> dict[str, Any]:
    doc = await res.mongo.db.events.find_one({"_id": event_id, "merchant_id": merchant_id})
    if doc is None:
        raise not_found("event")
    return public_event(doc)


async def list_deliveries(
    res: Resources,
    merchant_id: str,
    *,
    limit: int,
    starting_after: str | None = None,
    event_id: str | None = None,
    status: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    query: dict[str, Any] = {"merchant_id": merchant_id}
    if event_id is not None:
        query["event_id"] = event_id
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise ApiError("validation_error", f"status must be one of {', '.join(DELIVERY_STATUSES)}", param="status")
        query["status"] = status
    docs, has_more = await _page(res, "webhook_deliveries", query, limit, starting_after)
    return [public_delivery(d) for d in docs], has_more


async def retry_delivery(res: Resources, merchant_id: str, delivery_id: str, *, ip: str | None) -> dict[str, Any]:
    """Back to `pending` and one attempt (the next slot) enqueued at once; audited."""
    for _ in range(CAS_TRIES):
        found = await res.mongo.db.webhook_deliveries.find_one({"_id": delivery_id, "merchant_id": merchant_id})
        if found is None:
            raise not_found("webhook delivery")
        doc = await compare_and_set(res, found, {"status": "pending", "next_attempt_at": utcnow()})
        if doc is not None:
            break
    else:
        raise RuntimeError(f"webhook delivery {delivery_id}: too much contention to retry")
    attempt = int(doc.get("claimed_attempt", -1)) + 1
    await enqueue_attempt(res, delivery_id, attempt, key=f"{delivery_id}:manual:{secrets.token_hex(8)}", manual=True)
    await audit.record(
        res.mongo,
        res.db,
        actor=f"merchant:{merchant_id}",
        action="webhook_delivery.retried",
        target=delivery_id,
        ip=ip,
        details={"event_id": doc["event_id"], "attempt": attempt},
    )
    return public_delivery(doc)
