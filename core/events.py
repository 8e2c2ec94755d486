"""Merchant events: exactly one per state change, each with one webhook delivery (§4.7).

`record_event` is idempotent on (object id, type): a retried or duplicated state change finds
the event already there and creates nothing. The delivery document is created with it and the
`deliver_webhook` job enqueued; `sweep_webhook_deliveries` repairs a crash between the steps.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from core.ids import new_id
from core.job_refs import DELIVER_WEBHOOK, DeliveryArgs
from core.jobs_client import enqueue
from core.resources import Resources
from core.timeutil import iso, utcnow

EVENT_TYPES = (
    "payin.succeeded",
    "payin.failed",
    "payin.expired",
    "payout.processing",
    "payout.succeeded",
    "payout.failed",
    "payout.reversed",
    "refund.processing",
    "refund.succeeded",
    "refund.failed",
)


def public_event(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "object": "event",
        "type": doc["type"],
        "created_at": iso(doc["created_at"]),
        "data": doc["data"],
    }


async def record_event(
    res: Resources, *, merchant_id: str, type: str, object_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Store the event (once per object and type) and its pending delivery; enqueue delivery."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    db = res.mongo.db
    event = {
        "_id": new_id("evt"),
        "merchant_id": merchant_id,
        "type": type,
        "object_id": object_id,
        "created_at": utcnow(),
        "data": data,
    }
    try:
        await db.events.insert_one(event)
    except DuplicateKeyError:
        existing = await db.events.find_one({"object_id": object_id, "type": type})
        assert existing is not None
        event = existing
    await ensure_delivery(res, event)
    return event


async def ensure_delivery(res: Resources, event: dict[str, Any]) -> dict[str, Any]:
    """The event's delivery document, created (and its first attempt enqueued) if missing."""
    from core.merchants.store import fetch_merchant

    db = res.mongo.db
    existing = await db.webhook_deliveries.find_one({"event_id": event["_id"]})
    if existing is not None:
        return existing
    merchant = await fetch_merchant(res.db, event["merchant_id"])
    url = merchant["webhook_url"] if merchant else None
    now = utcnow()
    delivery = {
        "_id": new_id("whd"),
        "event_id": event["_id"],
        "merchant_id": event["merchant_id"],
        "event_type": event["type"],
        "url": url,
        "status": "pending",
        "attempts": [],
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await db.webhook_deliveries.insert_one(delivery)
    except DuplicateKeyError:
        found = await db.webhook_deliveries.find_one({"event_id": event["_id"]})
        assert found is not None
        return found
    args = DeliveryArgs(delivery_id=delivery["_id"], attempt=0)
    await enqueue(res.queue, DELIVER_WEBHOOK, args, key=f"{delivery['_id']}:0")
    return delivery
