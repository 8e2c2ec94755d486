"""Payins (ARCHITECTURE §4.5): create through the routed provider, learn the outcome, credit once.

States: pending → succeeded | failed | expired; expired → succeeded (late: money that arrived is
never dropped). On succeeded the ledger credits `amount - fee` and accrues the provider fee
(keys derived from the payin id: a duplicated callback never credits twice).

The provider's answer to create can be ambiguous (a timeout after sending, a dropped connection,
a 5xx): that is never a failure. The payin stays pending, its outcome learned from callbacks and
bounded status queries (`poll_payin`), and it is only expired after the provider confirms it is
unpaid. Only a definite answer fails it: the provider's rejection (201, `failed`,
`provider_rejected`) or a connection refused before anything was sent (502, nothing charged).
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
import structlog

from core import ledger
from core.errors import ApiError, not_found
from core.ids import new_id
from core.job_refs import EXPIRE_PAYIN, POLL_PAYIN, PayinArgs, PollArgs
from core.jobs_client import enqueue
from core.observability.metrics import PAYINS
from core.payments import machine as engine
from core.payments.context import resolve_route
from core.payments.inputs import PayinCreate, bad, check_payin
from core.payments.machine import Machine, StateEffects
from core.payments.model import (
    Customer,
    FailureCode,
    Kind,
    Payin,
    PayinStatus,
    ProviderReport,
    Step,
)
from core.payments.views import PayinView, payin_view
from core.providers.base import PayinRequest, PayinResult, ProviderNotFound, ProviderRejected, ProviderUnavailable
from core.providers.registry import get_adapter
from core.resources import Resources
from core.timeutil import utcnow

log = structlog.get_logger("payins")
S = PayinStatus


def _credit(p: Payin) -> list[ledger.EntrySpec]:
    return [
        ledger.payin_credit(p.id, p.merchant_id, p.ple_id, p.currency, p.amount, p.fee),
        ledger.provider_fee_accrual(p.id, p.ple_id, p.currency, p.provider_fee),
    ]


MACHINE: Machine[Payin] = Machine(
    kind=Kind.PAYIN,
    moves={
        # expired or failed → succeeded: a payment the provider reports after all is never dropped
        S.SUCCEEDED: frozenset({S.PENDING, S.EXPIRED, S.FAILED}),
        S.FAILED: frozenset({S.PENDING}),
        S.EXPIRED: frozenset({S.PENDING}),
    },
    effects={
        S.SUCCEEDED: StateEffects(
            ledger=_credit,
            amend=lambda p: msgspec.structs.replace(
                p,
                late=p.status in (S.EXPIRED, S.FAILED),
                failure_code=p.failure_code if p.failure_code == FailureCode.AMOUNT_MISMATCH else None,
            ),
            audit_action=lambda p: "payin.late_succeeded" if p.late else "payin.succeeded",
        ),
        S.FAILED: StateEffects(amend=engine.setting(failure_code=FailureCode.PROVIDER_FAILED)),
        # Asked again a few times after expiry (`poll_payin`): a payment made late whose callback
        # was lost is still credited (money that arrived is never dropped; found by chaos).
        S.EXPIRED: StateEffects(amend=engine.setting(failure_code=FailureCode.EXPIRED), polls=True),
    },
    view=payin_view,
    counted=lambda p: PAYINS.add(1, {"status": str(p.status), "method": str(p.method), "provider": p.provider}),
    poll_job=POLL_PAYIN,
)


async def create_payin(res: Resources, merchant_id: str, data: PayinCreate) -> PayinView:
    check_payin(data, res.settings.payin_max_expire_minutes)
    route = await resolve_route(res, merchant_id, "payin", data.method, data.currency)
    fees = route.fees(data.amount)
    if fees.fee >= data.amount:
        raise bad("amount", "amount does not cover the fee")
    now = utcnow()
    minutes = data.expires_in_minutes or res.settings.payin_auto_expire_minutes
    customer = data.customer
    payin = Payin(
        id=new_id("pi"),
        merchant_id=merchant_id,
        reference=data.reference,
        amount=data.amount,
        currency=data.currency,
        status=S.PENDING,
        fee=fees.fee,
        provider_fee=fees.provider_fee,
        ple_id=route.ple.ple_id,
        provider=route.ple.provider,
        method=data.method,
        customer=Customer(name=customer.name, email=customer.email, phone=customer.phone),
        return_url=data.return_url,
        metadata=dict(data.metadata),
        expires_at=now + timedelta(seconds=minutes * res.settings.payin_expiry_unit_seconds),
        history=[Step(status=S.PENDING, at=now, source="api")],
        submissions=1,
        created_at=now,
        updated_at=now,
    )
    structlog.contextvars.bind_contextvars(payin_id=payin.id)
    await MACHINE.store(res).insert(payin)
    MACHINE.counted(payin)
    try:
        result = await get_adapter(payin.provider, res.settings).create_payin(route.ple, _request(payin))
    except ProviderUnavailable as exc:
        if exc.kind == "connect":  # refused before anything was sent: nothing can have been charged
            await engine.advance(
                res,
                MACHINE,
                payin,
                S.FAILED,
                source="api",
                amend=engine.setting(failure_code=FailureCode.PROVIDER_UNAVAILABLE),
            )
            raise ApiError(
                "provider_unavailable", "the payment provider could not be reached; nothing was charged"
            ) from exc
        log.warning("payin creation unanswered: pending until the provider tells", kind=exc.kind)
        await engine.poll_later(res, MACHINE, payin, 1)
        await _schedule_expiry(res, payin)
        return payin_view(payin)
    except ProviderRejected as exc:
        log.info("payin rejected by provider", code=exc.code)
        failed = await engine.advance(
            res,
            MACHINE,
            payin,
            S.FAILED,
            source="api",
            amend=engine.setting(failure_code=FailureCode.PROVIDER_REJECTED),
        )
        return payin_view(failed.obj or payin)
    payin = await _record_answer(res, payin, result, route.ple.ple_id, source="api")
    await _schedule_expiry(res, payin)
    return payin_view(payin)


async def _record_answer(res: Resources, payin: Payin, result: PayinResult, ple_id: str, *, source: str) -> Payin:
    """Keep the provider's reference and payment instructions (only for our amount), then apply
    its status."""
    if (result.amount, result.currency) == (payin.amount, payin.currency) and payin.payment_url is None:

        def answered(p: Payin) -> Payin:
            return msgspec.structs.replace(
                p,
                provider_reference=p.provider_reference or result.provider_reference,
                payment_url=result.payment_url,
                instructions=result.instructions,
                updated_at=utcnow(),
            )

        payin = await MACHINE.store(res).update(payin, answered) or payin
    report = ProviderReport.of(result, ple_id, source)
    moved = await engine.apply_report(res, MACHINE, report, payin, drain_now=source != "api")
    return moved.obj or payin


async def _schedule_expiry(res: Resources, payin: Payin, *, retry: bool = False) -> None:
    """`expire_payin` at expires_at (a retry, when a clock ran early, at least a second later)."""
    at = payin.expires_at.timestamp()
    when = max(at, utcnow().timestamp() + 1) if retry else at
    key = f"expire:{payin.id}:{int(when)}" if retry else f"expire:{payin.id}"
    await enqueue(res.queue, EXPIRE_PAYIN, PayinArgs(payin_id=payin.id), key=key, scheduled=when)


async def get_payin(res: Resources, merchant_id: str, payin_id: str) -> PayinView:
    return payin_view(await MACHINE.store(res).owned(payin_id, merchant_id))


async def check_with_provider(res: Resources, payin_id: str, *, source: str) -> PayinStatus:
    """Ask the provider and apply what it says; expire only a payin past its expiry that the
    provider reports unpaid or never received. Returns the payin's status afterwards."""
    payin = await MACHINE.store(res).get(payin_id)
    if payin is None:
        raise not_found("payin")
    if payin.status not in (S.PENDING, S.EXPIRED):
        return payin.status
    ple = await res.ples.get(payin.ple_id)
    adapter = get_adapter(payin.provider, res.settings)
    try:
        result = await adapter.payin_status(ple, payin_id)
    except ProviderNotFound:
        result = None
    if result is None and payin.status == S.PENDING and payin.expires_at > utcnow():
        # Its creation never reached the provider: submit it again (same id, deduplicated there).
        try:
            result = await adapter.create_payin(ple, _request(payin))
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("payin resubmission failed", error=str(exc))
    if result is not None:
        payin = await _record_answer(res, payin, result, ple.ple_id, source=source)
    if payin.status == S.PENDING and payin.expires_at <= utcnow() and (result is None or result.status == S.PENDING):
        payin = (await engine.advance(res, MACHINE, payin, S.EXPIRED, source=source, drain_now=True)).obj or payin
    return payin.status


LATE_CHECKS = 4  # status queries after expiry (the poll back-off: 1, 2, 4, 8 × the initial delay)


async def _check_for_late_payment(res: Resources, payin: Payin, args: PollArgs) -> str:
    """An expired payin's status query: a "paid" answer succeeds it (late); after LATE_CHECKS
    unpaid answers the queries stop. Later payments are found by the three-way reconciliation."""
    try:
        status = await check_with_provider(res, payin.id, source="late_check")
    except ProviderUnavailable:
        status = S.EXPIRED
    if status != S.EXPIRED:
        return str(status)
    fresh = await MACHINE.store(res).get(payin.id) or payin
    if args.attempt < min(LATE_CHECKS, res.settings.payout_poll_max_attempts):
        await engine.poll_later(res, MACHINE, fresh, args.attempt + 1)
        return "late check scheduled"

    def stop(p: Payin) -> Payin | None:
        return msgspec.structs.replace(p, next_poll=None) if p.next_poll is not None else None

    await MACHINE.store(res).update(fresh, stop)
    return "expired: no late payment"


def _request(p: Payin) -> PayinRequest:
    return PayinRequest(
        payin_id=p.id,
        amount=p.amount,
        currency=p.currency,
        method=p.method,
        customer=msgspec.to_builtins(p.customer),
        expires_at=p.expires_at,
        return_url=p.return_url,
    )


async def expire_payin(res: Resources, payin_id: str) -> PayinStatus:
    """The `expire_payin` job: ask first, expire only what the provider confirms unpaid."""
    status = await check_with_provider(res, payin_id, source="expire_payin")
    if status == S.PENDING:  # not due yet (clock skew between roles), or the provider is silent
        payin = await MACHINE.store(res).get(payin_id)
        if payin is not None:
            await _schedule_expiry(res, payin, retry=True)
    return status


async def poll_payin(res: Resources, args: PollArgs) -> str:
    """The `poll_payin` job, after an ambiguous creation: bounded status queries until the
    provider answers; when they run out, the expiry (which asks again) decides."""
    payin = await MACHINE.store(res).get(args.id)
    if payin is not None and payin.status == S.EXPIRED:
        return await _check_for_late_payment(res, payin, args)
    if payin is None or payin.status != S.PENDING:
        return "final"
    try:
        status = await check_with_provider(res, args.id, source="poll")
    except ProviderUnavailable:
        status = S.PENDING
    fresh = await MACHINE.store(res).get(args.id)
    if status == S.PENDING and fresh is not None and fresh.payment_url is None:
        if args.attempt < res.settings.payout_poll_max_attempts:
            await engine.poll_later(res, MACHINE, fresh, args.attempt + 1)
            return "polling"
        return "left to the expiry check"
    return str(status)
