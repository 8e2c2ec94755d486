"""Refunds of payins (ARCHITECTURE §4.9): the first kind added through the kernel.

Order of writes, as payouts: 1 in one PostgreSQL transaction, the payin's refund guard (its
refunds that are not failed never add up to more than its amount) and the hold of `amount` from
available to reserved; 2 the refund document; 3 the submission to the payin's PLE with the refund
id as the provider's idempotency key; 4 the answer in one compare-and-set. States pending →
processing → succeeded | failed, learned from the answer, callbacks and bounded polling; a refund
whose outcome cannot be learned stays processing with `needs_review`. The merchant's fee on the
payin is not returned; a refund carries no fee and accrues no provider fee (docs/payments.md).
"""

from __future__ import annotations

import msgspec
import structlog

from core import ledger
from core.errors import ApiError
from core.ids import new_id
from core.job_refs import POLL_REFUND, SUBMIT_REFUND
from core.observability.metrics import REFUNDS
from core.payments import machine as engine
from core.payments import payins, submission
from core.payments.inputs import RefundCreate, check_metadata
from core.payments.machine import Machine, StateEffects
from core.payments.model import Answer, FailureCode, Kind, Payin, PayinStatus, Refund, RefundStatus, Step
from core.payments.store import TransactionStore
from core.payments.submission import Submitter
from core.payments.views import RefundView, refund_view
from core.providers.base import PleConfig, RefundRequest
from core.providers.registry import get_adapter
from core.resources import Resources
from core.timeutil import utcnow

log = structlog.get_logger("refunds")
S = RefundStatus


async def recount_payin(res: Resources, refund: Refund) -> None:
    """The payin's `amount_refunded`: the sum of its succeeded refunds. Refunds never leave
    succeeded, so the figure only grows: a recount that read before another refund's success
    never lowers what a later one wrote."""
    cursor = res.mongo.db.refunds.find({"payin_id": refund.payin_id, "status": S.SUCCEEDED}, {"amount": 1})
    total = sum([int(d["amount"]) async for d in cursor])

    def recount(p: Payin) -> Payin | None:
        return msgspec.structs.replace(p, amount_refunded=total) if total > p.amount_refunded else None

    await TransactionStore(res.mongo, Kind.PAYIN).update(refund.payin_id, recount)


MACHINE: Machine[Refund] = Machine(
    kind=Kind.REFUND,
    moves={
        S.PROCESSING: frozenset({S.PENDING}),
        S.SUCCEEDED: frozenset({S.PENDING, S.PROCESSING}),
        S.FAILED: frozenset({S.PENDING, S.PROCESSING}),
    },
    effects={
        S.PROCESSING: StateEffects(polls=True),
        S.SUCCEEDED: StateEffects(
            ledger=lambda r: [ledger.refund_settlement(r.id, r.merchant_id, r.ple_id, r.currency, r.amount)]
        ),
        S.FAILED: StateEffects(
            ledger=lambda r: [ledger.refund_release(r.id, r.payin_id, r.merchant_id, r.currency, r.amount)],
            amend=engine.setting(failure_code=FailureCode.PROVIDER_FAILED),
        ),
    },
    view=refund_view,
    counted=lambda r: REFUNDS.add(1, {"status": str(r.status), "provider": r.provider}),
    poll_job=POLL_REFUND,
    on_drain=recount_payin,
)


async def _send(res: Resources, ple: PleConfig, r: Refund) -> Answer:
    payin = await payins.MACHINE.store(res).get(r.payin_id)
    request = RefundRequest(
        refund_id=r.id,
        payin_id=r.payin_id,
        payin_provider_reference=payin.provider_reference if payin else None,
        amount=r.amount,
        currency=r.currency,
    )
    return await get_adapter(r.provider, res.settings).create_refund(ple, request)


async def _query(res: Resources, ple: PleConfig, refund_id: str) -> Answer:
    return await get_adapter(ple.provider, res.settings).refund_status(ple, refund_id)


SUBMITTER = Submitter(machine=MACHINE, submit_job=SUBMIT_REFUND, send=_send, query=_query)


async def create_refund(res: Resources, merchant_id: str, data: RefundCreate) -> RefundView:
    check_metadata(data.metadata)
    payin = await payins.MACHINE.store(res).owned(data.payin_id, merchant_id)
    if payin.status != PayinStatus.SUCCEEDED:
        raise ApiError("payin_not_refundable", f"only a succeeded payin is refundable; it is {payin.status}")
    store = MACHINE.store(res)
    await store.refuse_duplicate(merchant_id, data.reference)
    refund_id = new_id("rf")
    structlog.contextvars.bind_contextvars(refund_id=refund_id)
    try:  # 1: the guard and the hold, in one PostgreSQL transaction
        amount = await ledger.hold_refund_funds(
            res.db, refund_id, payin.id, merchant_id, payin.currency, payin.amount, data.amount
        )
    except ledger.RefundExceedsPayin as exc:
        raise ApiError(
            "refund_exceeds_payin",
            f"the payin's refunds would exceed its amount: {exc.refundable} is still refundable",
            param="amount",
        ) from None
    except ledger.InsufficientFunds:
        raise ApiError("insufficient_funds", "available balance does not cover the refund", param="amount") from None
    now = utcnow()
    refund = Refund(
        id=refund_id,
        merchant_id=merchant_id,
        payin_id=payin.id,
        reference=data.reference,
        amount=amount,
        currency=payin.currency,
        status=S.PENDING,
        ple_id=payin.ple_id,
        provider=payin.provider,
        reason=data.reason,
        metadata=dict(data.metadata),
        history=[Step(status=S.PENDING, at=now, source="api")],
        submissions=1,
        last_submitted_at=now,
        created_at=now,
        updated_at=now,
    )
    try:  # 2: the document
        await store.insert(refund)
    except ApiError:  # a concurrent request with this reference won: give the hold (and guard) back
        await ledger.post(res.db, ledger.refund_release(refund_id, payin.id, merchant_id, payin.currency, amount))
        raise
    MACHINE.counted(refund)
    ple = await res.ples.get(payin.ple_id)
    return refund_view(await submission.submit(res, SUBMITTER, refund, ple, source="api"))  # 3 and 4


async def get_refund(res: Resources, merchant_id: str, refund_id: str) -> RefundView:
    return refund_view(await MACHINE.store(res).owned(refund_id, merchant_id))
