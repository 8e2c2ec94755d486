"""Payout recovery: every crash point between PostgreSQL and MongoDB converges (docs/payments.md).

- hold without document (crash after step 1): the hold is released once it is older than
  HOLD_GRACE and still has no document;
- document pending, submission unanswered or never made (crash after 2 or 3): resubmitted with
  the same id, which the provider deduplicates;
- state changed without its effects (crash inside a transition): the effects are applied;
- processing, not yet flagged, and its due poll (or the first one) more than 2 minutes late: the poll
  is enqueued again.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import structlog

from core import ledger
from core.jobs_client import enqueue
from core.observability.metrics import PAYOUTS_NEEDING_REVIEW
from core.payments.payouts import apply_payout_effects, submit_payout
from core.providers.base import ProviderError
from core.resources import Resources
from core.storage.postgres import sql
from core.timeutil import utcnow

log = structlog.get_logger("payout_sweep")
HOLD_GRACE = timedelta(minutes=2)
RESUBMIT_AFTER = timedelta(seconds=60)
EFFECTS_GRACE = timedelta(seconds=30)
POLL_GRACE = timedelta(minutes=2)  # a due poll this late was lost
BATCH = 500


async def orphan_holds(older_than: timedelta) -> list[dict[str, object]]:
    return await sql(
        "SELECT e.transaction_id, e.merchant_id, e.currency, e.metadata FROM journal_entries e"
        " WHERE e.kind = 'payout_hold' AND e.created_at < {}"
        " AND e.created_at > now() - interval '30 days'"
        " AND NOT EXISTS (SELECT 1 FROM journal_entries r WHERE r.transaction_id = e.transaction_id"
        "   AND r.kind IN ('payout_failed', 'payout_succeeded'))"
        " ORDER BY e.created_at LIMIT {}",
        utcnow() - older_than,
        BATCH,
    )


async def sweep_payouts(
    res: Resources,
    *,
    hold_grace: timedelta = HOLD_GRACE,
    resubmit_after: timedelta = RESUBMIT_AFTER,
    effects_grace: timedelta = EFFECTS_GRACE,
    poll_grace: timedelta = POLL_GRACE,
) -> dict[str, int]:
    db, now = res.mongo.db, utcnow()
    released = resubmitted = repaired = 0
    for hold in await orphan_holds(hold_grace):
        payout_id = str(hold["transaction_id"])
        if await db.payouts.find_one({"_id": payout_id}, {"_id": 1}):
            continue
        meta = hold["metadata"] if isinstance(hold["metadata"], dict) else orjson.loads(str(hold["metadata"]))
        await ledger.release_payout_funds(
            payout_id, str(hold["merchant_id"]), str(hold["currency"]), int(meta["amount"]), int(meta["fee"])
        )
        log.warning("released a hold that never got its payout document", payout_id=payout_id)
        released += 1
    stale = {"status": "pending", "updated_at": {"$lte": now - resubmit_after}}
    async for doc in db.payouts.find(stale, {"_id": 1}).limit(BATCH):
        try:
            await submit_payout(res, doc["_id"], source="sweep")
            resubmitted += 1
        except ProviderError as exc:
            log.warning("resubmission failed", payout_id=doc["_id"], error=str(exc))
    stuck = {"effects_pending": True, "updated_at": {"$lte": now - effects_grace}}
    async for doc in db.payouts.find(stuck).limit(BATCH):
        await apply_payout_effects(res, doc)
        repaired += 1
    repolled = 0
    cutoff = now - poll_grace
    # Processing since before the cutoff and its due poll (if any) late: the poll job was lost
    # (a killed worker, a Redis restart, or a crash before the first poll was scheduled).
    waiting = {"status": "processing", "needs_review": False, "updated_at": {"$lte": cutoff}}
    async for doc in db.payouts.find(waiting).limit(BATCH):
        due = doc.get("next_poll")
        if due and due["at"] > cutoff:
            continue
        attempt = due["attempt"] if due else 1
        minute = int(now.timestamp() // 60)
        await enqueue(
            res.queue,
            "poll_payout",
            key=f"poll:{doc['_id']}:{attempt}:r{minute}",
            payout_id=doc["_id"],
            attempt=attempt,
        )
        repolled += 1
    review = await db.payouts.count_documents({"needs_review": True, "status": "processing"})
    PAYOUTS_NEEDING_REVIEW.set(review)
    return {
        "holds_released": released,
        "resubmitted": resubmitted,
        "effects_repaired": repaired,
        "polls_requeued": repolled,
        "needs_review": review,
    }
