"""Payouts (ARCHITECTURE §4.6): hold, submit, learn the outcome, and the ledger of each state.

Order of writes (docs/payments.md): 1 hold `amount + fee` in PostgreSQL (idempotency key from
the payout id), 2 insert the payout document, 3 submit to the provider with the payout id as its
idempotency key, 4 record the answer in one compare-and-set. The sweep repairs a crash between
any two: a hold with no document is released; a pending document is resubmitted (the provider
deduplicates by id); a state without its effects gets them.
"""

from __future__ import annotations

import structlog

from core import ledger
from core.errors import ApiError
from core.ids import new_id
from core.job_refs import POLL_PAYOUT, SUBMIT_PAYOUT
from core.observability.metrics import PAYOUTS
from core.payments import beneficiary as ben
from core.payments import machine as engine
from core.payments import submission
from core.payments.context import resolve_route
from core.payments.inputs import PayoutCreate, check_payout
from core.payments.machine import Machine, StateEffects
from core.payments.model import Answer, FailureCode, Kind, Payout, PayoutStatus, Step
from core.payments.submission import Submitter
from core.payments.views import PayoutView, payout_view
from core.providers.base import PayoutRequest, PleConfig
from core.providers.registry import get_adapter
from core.resources import Resources
from core.security.crypto import keyring_for
from core.timeutil import utcnow

log = structlog.get_logger("payouts")
S = PayoutStatus


def _reported_path(current: str, reported: str) -> tuple[str, ...]:
    # Reported reversed before we saw the success: pass through it (its ledger entry first).
    if reported == S.REVERSED and current in (S.PENDING, S.PROCESSING):
        return (S.SUCCEEDED, S.REVERSED)
    return (reported,)


MACHINE: Machine[Payout] = Machine(
    kind=Kind.PAYOUT,
    moves={
        S.PROCESSING: frozenset({S.PENDING}),
        S.SUCCEEDED: frozenset({S.PENDING, S.PROCESSING}),
        S.FAILED: frozenset({S.PENDING, S.PROCESSING}),
        S.REVERSED: frozenset({S.SUCCEEDED}),
    },
    effects={
        S.PROCESSING: StateEffects(polls=True),
        S.SUCCEEDED: StateEffects(
            ledger=lambda p: [
                ledger.payout_settlement(p.id, p.merchant_id, p.ple_id, p.currency, p.amount, p.fee),
                ledger.provider_fee_accrual(p.id, p.ple_id, p.currency, p.provider_fee),
            ]
        ),
        S.FAILED: StateEffects(
            ledger=lambda p: [ledger.payout_release(p.id, p.merchant_id, p.currency, p.amount, p.fee)],
            amend=engine.setting(failure_code=FailureCode.PROVIDER_FAILED),
        ),
        S.REVERSED: StateEffects(
            ledger=lambda p: [ledger.payout_reversal(p.id, p.merchant_id, p.ple_id, p.currency, p.amount, p.fee)],
            amend=engine.setting(failure_code=FailureCode.RETURNED),
        ),
    },
    view=payout_view,
    counted=lambda p: PAYOUTS.add(1, {"status": str(p.status), "mode": str(p.mode), "provider": p.provider}),
    poll_job=POLL_PAYOUT,
    path=_reported_path,
)


async def _send(res: Resources, ple: PleConfig, p: Payout) -> Answer:
    request = PayoutRequest(
        payout_id=p.id,
        amount=p.amount,
        currency=p.currency,
        mode=p.mode,
        beneficiary=ben.unsealed(keyring_for(res.settings.secrets_master_keys), p.id, p.beneficiary),
        narration=p.narration,
    )
    return await get_adapter(p.provider, res.settings).create_payout(ple, request)


async def _query(res: Resources, ple: PleConfig, payout_id: str) -> Answer:
    return await get_adapter(ple.provider, res.settings).payout_status(ple, payout_id)


SUBMITTER = Submitter(machine=MACHINE, submit_job=SUBMIT_PAYOUT, send=_send, query=_query)


async def create_payout(res: Resources, merchant_id: str, data: PayoutCreate) -> PayoutView:
    check_payout(data)
    route = await resolve_route(res, merchant_id, "payout", data.mode, data.currency)
    fees = route.fees(data.amount)
    store = MACHINE.store(res)
    await store.refuse_duplicate(merchant_id, data.reference)
    payout_id = new_id("po")
    structlog.contextvars.bind_contextvars(payout_id=payout_id)
    hold = ledger.payout_hold(payout_id, merchant_id, data.currency, data.amount, fees.fee)
    try:  # 1: the hold, in one PostgreSQL transaction; nothing is written when funds are short
        await ledger.post(res.db, hold)
    except ledger.InsufficientFunds:
        raise ApiError("insufficient_funds", "available balance does not cover amount + fee", param="amount") from None
    now = utcnow()
    payout = Payout(
        id=payout_id,
        merchant_id=merchant_id,
        reference=data.reference,
        amount=data.amount,
        currency=data.currency,
        status=S.PENDING,
        fee=fees.fee,
        provider_fee=fees.provider_fee,
        ple_id=route.ple.ple_id,
        provider=route.ple.provider,
        mode=data.mode,
        beneficiary=ben.seal(keyring_for(res.settings.secrets_master_keys), payout_id, data.beneficiary),
        narration=data.narration,
        metadata=dict(data.metadata),
        history=[Step(status=S.PENDING, at=now, source="api")],
        submissions=1,  # counted now: the submission follows at once
        last_submitted_at=now,
        created_at=now,
        updated_at=now,
    )
    try:  # 2: the document
        await store.insert(payout)
    except ApiError:  # a concurrent request with this reference won: give the hold back
        await ledger.post(res.db, ledger.payout_release(payout_id, merchant_id, data.currency, data.amount, fees.fee))
        raise
    MACHINE.counted(payout)
    return payout_view(await submission.submit(res, SUBMITTER, payout, route.ple, source="api"))  # 3 and 4


async def get_payout(res: Resources, merchant_id: str, payout_id: str) -> PayoutView:
    return payout_view(await MACHINE.store(res).owned(payout_id, merchant_id))
