"""One sweep repairs every kind: nothing stays stuck between two stores (docs/payments.md).

Run every minute by `sweep_transactions`. For each kind:
- a state change whose effects were not finished (a crash, a lost `apply_effects` job): drained;
- a due status query more than POLL_GRACE late (a killed worker, a Redis restart): enqueued again;
- a payout or refund still pending, its submission unanswered for RESUBMIT_AFTER: resubmitted with
  the same id (the provider deduplicates);
- a hold more than HOLD_GRACE old whose transaction document never got written: released;
- a payin pending past its expiry: the provider is asked, and it is expired only if unpaid.
It also sets the review gauge per kind and the payin expiry lag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import msgspec
import orjson
import structlog

from core import ledger
from core.job_refs import PollArgs
from core.jobs_client import enqueue
from core.observability.metrics import PAYIN_EXPIRY_LAG, PAYOUTS_NEEDING_REVIEW, TRANSACTIONS_NEEDING_REVIEW
from core.payments import machine as engine
from core.payments import submission
from core.payments.kinds import MACHINES, SUBMITTERS
from core.payments.model import Kind, PayinStatus
from core.payments.payins import check_with_provider
from core.providers.base import ProviderError
from core.resources import Resources
from core.timeutil import utcnow

log = structlog.get_logger("sweep")
BATCH = 500
HOLD_GRACE = timedelta(minutes=2)
RESUBMIT_AFTER = timedelta(seconds=60)
EFFECTS_GRACE = timedelta(seconds=30)  # a live request or job finishes its effects well within this
POLL_GRACE = timedelta(minutes=2)  # a due poll this late was lost
# Per kind that holds funds before its document exists: the hold's entry kind, the entry kinds that
# end a hold, and the release of an orphan hold (from the hold's transaction, merchant, currency
# and metadata).
HOLDS: dict[Kind, tuple[str, tuple[str, ...], Callable[[str, str, str, Mapping[str, Any]], ledger.EntrySpec]]] = {
    Kind.PAYOUT: (
        "payout_hold",
        ("payout_failed", "payout_succeeded"),
        lambda tx, mid, ccy, meta: ledger.payout_release(tx, mid, ccy, int(meta["amount"]), int(meta["fee"])),
    ),
    Kind.REFUND: (
        "refund_hold",
        ("refund_failed", "refund_succeeded"),
        lambda tx, mid, ccy, meta: ledger.refund_release(tx, str(meta["payin_id"]), mid, ccy, int(meta["amount"])),
    ),
}


class SweepReport(msgspec.Struct):
    effects_repaired: int = 0
    polls_requeued: int = 0
    resubmitted: int = 0
    holds_released: int = 0
    expiry_checked: int = 0
    provider_errors: int = 0
    failures: int = 0  # repairs that raised (logged with the transaction id; retried next minute)
    needs_review: int = 0


async def sweep_transactions(
    res: Resources,
    *,
    hold_grace: timedelta = HOLD_GRACE,
    resubmit_after: timedelta = RESUBMIT_AFTER,
    effects_grace: timedelta = EFFECTS_GRACE,
    poll_grace: timedelta = POLL_GRACE,
) -> SweepReport:
    report = SweepReport()
    for kind, machine in MACHINES.items():
        await _drain_stuck(res, kind, effects_grace, report)
        if machine.poll_job is not None:
            await _requeue_lost_polls(res, kind, poll_grace, report)
        if kind in SUBMITTERS:
            await _resubmit_unanswered(res, kind, resubmit_after, report)
        if kind in HOLDS:
            await _release_orphan_holds(res, kind, hold_grace, report)
        flagged = await res.mongo.db[machine.store(res).collection.name].count_documents({"needs_review": True})
        TRANSACTIONS_NEEDING_REVIEW.set(flagged, {"kind": str(kind)})
        if kind == Kind.PAYOUT:
            PAYOUTS_NEEDING_REVIEW.set(flagged)
        report.needs_review += flagged
    await _expire_due_payins(res, report)
    return report


async def _drain_stuck(res: Resources, kind: Kind, grace: timedelta, report: SweepReport) -> None:
    machine = MACHINES[kind]
    store = machine.store(res)
    stuck = {"effects_pending": True, "updated_at": {"$lte": utcnow() - grace}}
    async for doc in store.collection.find(stuck).limit(BATCH):
        try:
            await engine.drain(res, machine, store.decode(doc))
            report.effects_repaired += 1
        except Exception as exc:  # one broken transaction must not stop the repair of the others
            report.failures += 1
            log.error("effects still not applied", kind=kind, transaction_id=doc["_id"], error=type(exc).__name__)


async def _requeue_lost_polls(res: Resources, kind: Kind, grace: timedelta, report: SweepReport) -> None:
    machine = MACHINES[kind]
    store = machine.store(res)
    assert machine.poll_job is not None
    now = utcnow()
    cutoff = now - grace
    minute = int(now.timestamp() // 60)
    # Polls are due in statuses that poll; a payin polls while pending after an ambiguous create.
    polling = [str(s) for s, e in machine.effects.items() if e.polls]
    if kind == Kind.PAYIN:
        polling.append(str(PayinStatus.PENDING))
    query = {"status": {"$in": polling}, "needs_review": False, "updated_at": {"$lte": cutoff}}
    async for doc in store.collection.find(query).limit(BATCH):
        obj = store.decode(doc)
        due = obj.next_poll
        if due is None or due.at > cutoff:
            continue
        args = PollArgs(id=obj.id, attempt=due.attempt)
        await enqueue(res.queue, machine.poll_job, args, key=f"poll:{obj.id}:{due.attempt}:r{minute}")
        report.polls_requeued += 1


async def _resubmit_unanswered(res: Resources, kind: Kind, after: timedelta, report: SweepReport) -> None:
    submitter = SUBMITTERS[kind]
    stale = {"status": submitter.pending, "updated_at": {"$lte": utcnow() - after}}
    async for doc in submitter.machine.store(res).collection.find(stale, {"_id": 1}).limit(BATCH):
        try:
            await submission.resubmit(res, submitter, doc["_id"], source="sweep")
            report.resubmitted += 1
        except ProviderError as exc:
            report.provider_errors += 1
            log.warning("resubmission failed", kind=kind, error=str(exc))
        except Exception as exc:  # one broken transaction must not stop the others
            report.failures += 1
            log.error("resubmission failed", kind=kind, transaction_id=doc["_id"], error=type(exc).__name__)


async def _release_orphan_holds(res: Resources, kind: Kind, grace: timedelta, report: SweepReport) -> None:
    hold_kind, closing, release = HOLDS[kind]
    collection = MACHINES[kind].store(res).collection
    rows = await res.db.sql(
        "SELECT e.transaction_id, e.merchant_id, e.currency, e.metadata FROM journal_entries e"
        " WHERE e.kind = {} AND e.created_at < {} AND e.created_at > now() - interval '30 days'"
        " AND NOT EXISTS (SELECT 1 FROM journal_entries r WHERE r.transaction_id = e.transaction_id"
        "   AND r.kind = ANY({}::text[]))"
        " ORDER BY e.created_at LIMIT {}",
        hold_kind,
        utcnow() - grace,
        list(closing),
        BATCH,
    )
    for hold in rows:
        tx_id = str(hold["transaction_id"])
        if await collection.find_one({"_id": tx_id}, {"_id": 1}):
            continue
        meta: Any = hold["metadata"]
        meta = meta if isinstance(meta, dict) else orjson.loads(str(meta))
        await ledger.post(res.db, release(tx_id, str(hold["merchant_id"]), str(hold["currency"]).strip(), meta))
        log.warning("released a hold that never got its transaction document", kind=kind, transaction_id=tx_id)
        report.holds_released += 1


async def _expire_due_payins(res: Resources, report: SweepReport) -> None:
    collection = MACHINES[Kind.PAYIN].store(res).collection
    due = {"status": PayinStatus.PENDING, "expires_at": {"$lte": utcnow()}}
    async for doc in collection.find(due, {"_id": 1}).limit(BATCH):
        try:
            await check_with_provider(res, doc["_id"], source="sweep")
            report.expiry_checked += 1
        except ProviderError as exc:  # the provider is down: try again next minute, never guess
            report.provider_errors += 1
            log.warning("expiry check failed", error=str(exc))
        except Exception as exc:
            report.failures += 1
            log.error("expiry check failed", payin_id=doc["_id"], error=type(exc).__name__)
    oldest = await collection.find(due).sort("expires_at", 1).limit(1).to_list(1)
    PAYIN_EXPIRY_LAG.set((utcnow() - oldest[0]["expires_at"]).total_seconds() if oldest else 0.0)
