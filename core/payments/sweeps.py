"""Recovery sweeps run by cron jobs: nothing stays stuck between two stores (docs/payments.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from core.observability.metrics import PAYIN_EXPIRY_LAG
from core.payments.payins import apply_payin_effects, check_with_provider
from core.providers.base import ProviderError
from core.resources import Resources
from core.timeutil import utcnow

log = structlog.get_logger("sweeps")
BATCH = 500
EFFECTS_GRACE = timedelta(seconds=30)  # a live request finishes its effects well within this


async def sweep_payins(res: Resources) -> dict[str, int]:
    db, now = res.mongo.db, utcnow()
    checked = errors = repaired = 0
    async for doc in db.payins.find({"status": "pending", "expires_at": {"$lte": now}}, {"_id": 1}).limit(BATCH):
        try:
            await check_with_provider(res, doc["_id"], source="sweep")
            checked += 1
        except ProviderError as exc:  # the provider is down: try again next minute, never guess
            errors += 1
            log.warning("expiry check failed", payin_id=doc["_id"], error=str(exc))
    stuck = {"effects_pending": True, "updated_at": {"$lte": now - EFFECTS_GRACE}}
    async for doc in db.payins.find(stuck).limit(BATCH):
        await apply_payin_effects(res, doc)
        repaired += 1
    oldest = (
        await db.payins.find({"status": "pending", "expires_at": {"$lte": utcnow()}})
        .sort("expires_at", 1)
        .limit(1)
        .to_list(1)
    )
    lag = (utcnow() - oldest[0]["expires_at"]).total_seconds() if oldest else 0.0
    PAYIN_EXPIRY_LAG.set(lag)
    return {"checked": checked, "provider_errors": errors, "effects_repaired": repaired}


async def stale_pending(res: Resources, collection: str, older_than: timedelta) -> list[dict[str, Any]]:
    cutoff = utcnow() - older_than
    return (
        await res.mongo.db[collection]
        .find({"status": "pending", "updated_at": {"$lte": cutoff}})
        .limit(BATCH)
        .to_list(BATCH)
    )
