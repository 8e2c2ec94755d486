"""Payouts (§4.6): hold, submit, learn the outcome, and the ledger effects of each state.

Order of writes (docs/payments.md): 1 hold `amount + fee` in PostgreSQL (idempotency key from
the payout id), 2 insert the payout document, 3 submit to the provider with the payout id as its
idempotency key, 4 record the answer. The sweep repairs a crash between any two: a hold with no
document is released; a pending document is resubmitted (the provider deduplicates by id); a
state without its effects gets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from core import audit, ledger
from core.errors import ApiError, not_found
from core.events import record_event
from core.fees import compute_fees, plan_or_free
from core.ids import new_id
from core.jobs_client import enqueue
from core.merchants.store import fetch_merchant
from core.observability.metrics import PAYOUTS
from core.payments import beneficiary as ben
from core.payments import validation as v
from core.payments.shape import transaction_fields
from core.payments.transitions import Effect, apply_effects, transition
from core.providers.base import PayoutRequest, ProviderRejected, ProviderUnavailable
from core.providers.registry import get_adapter
from core.resources import Resources
from core.routing import ple_config_by_id, resolve_route
from core.storage.mongo import update_doc
from core.timeutil import utcnow

log = structlog.get_logger("payouts")
FINAL = ("succeeded", "failed", "reversed")
ALLOWED_FROM = {
    "processing": ("pending",),
    "succeeded": ("pending", "processing"),
    "failed": ("pending", "processing"),
    "reversed": ("succeeded",),
}
SUBMIT_RETRY_DELAYS = (2, 10, 30, 60, 120)  # seconds between resubmissions of an unanswered payout


@dataclass
class PayoutInput:
    amount: int
    currency: str
    reference: str
    mode: str
    beneficiary: dict[str, str]
    narration: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def public_payout(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **transaction_fields(doc, "payout"),
        "mode": doc["mode"],
        "beneficiary": ben.masked(doc["beneficiary"]),
        "narration": doc.get("narration"),
        "total_debited": doc["amount"] + doc["fee"],
        "needs_review": doc.get("needs_review", False),
    }


async def create_payout(res: Resources, merchant_id: str, data: PayoutInput) -> dict[str, Any]:
    v.check_currency(data.currency)
    v.check_reference(data.reference)
    beneficiary = ben.check(data.mode, data.beneficiary)
    v.check_amount(data.amount, ben.LIMITS[data.mode][1], ben.LIMITS[data.mode][0])
    if data.narration is not None:
        v.check_text(data.narration, "narration", 50)
    v.check_metadata(data.metadata)
    ple, provider_plan = await resolve_route(res, merchant_id, "payout", data.mode)
    if ple.currency != data.currency:
        raise ApiError("no_route", f"no provider route for {data.currency} payouts", param="currency")
    merchant = await fetch_merchant(merchant_id)
    merchant_plan = ((merchant or {}).get("fee_plans") or {}).get("payout", {}).get(data.mode) or {}
    fees = compute_fees(data.amount, plan_or_free(merchant_plan), plan_or_free(provider_plan))
    db = res.mongo.db
    existing = await db.payouts.find_one({"merchant_id": merchant_id, "reference": data.reference}, {"_id": 1})
    if existing:
        raise _duplicate(existing["_id"])
    payout_id = new_id("po")
    structlog.contextvars.bind_contextvars(payout_id=payout_id)
    try:  # 1: the hold, in one PostgreSQL transaction; nothing is written when funds are short
        await ledger.hold_payout_funds(payout_id, merchant_id, data.currency, data.amount, fees.fee)
    except ledger.InsufficientFunds:
        raise ApiError("insufficient_funds", "available balance does not cover amount + fee", param="amount") from None
    now = utcnow()
    doc: dict[str, Any] = {
        "_id": payout_id,
        "merchant_id": merchant_id,
        "reference": data.reference,
        "amount": data.amount,
        "currency": data.currency,
        "mode": data.mode,
        "beneficiary": beneficiary,
        "narration": data.narration,
        "metadata": data.metadata,
        "status": "pending",
        "fee": fees.fee,
        "provider_fee": fees.provider_fee,
        "ple_id": ple.ple_id,
        "provider": ple.provider,
        "provider_reference": None,
        "submissions": 0,
        "poll_attempts": 0,
        "needs_review": False,
        "history": [{"status": "pending", "at": now, "source": "api"}],
        "effects_pending": False,
        "created_at": now,
        "updated_at": now,
    }
    try:  # 2: the document
        await db.payouts.insert_one(doc)
    except DuplicateKeyError:  # a concurrent request with this reference won: give the hold back
        await ledger.release_payout_funds(payout_id, merchant_id, data.currency, data.amount, fees.fee)
        found = await db.payouts.find_one({"merchant_id": merchant_id, "reference": data.reference}, {"_id": 1})
        raise _duplicate(found["_id"] if found else None) from None
    PAYOUTS.add(1, {"status": "pending", "mode": data.mode, "provider": ple.provider})
    return public_payout(await submit_payout(res, payout_id, source="api"))  # 3 and 4


def _duplicate(existing_id: str | None) -> ApiError:
    return ApiError(
        "duplicate_reference",
        "a payout with this reference exists",
        param="reference",
        extra={"existing_id": existing_id},
    )


async def submit_payout(res: Resources, payout_id: str, *, source: str) -> dict[str, Any]:
    """Submit (or resubmit: same id, so never a second payout) a pending payout; record the answer."""
    db = res.mongo.db

    def count_submission(d: dict[str, Any]) -> dict[str, Any] | None:
        if d["status"] != "pending":
            return None
        return {**d, "submissions": d.get("submissions", 0) + 1, "last_submitted_at": utcnow(), "updated_at": utcnow()}

    doc = await update_doc(db.payouts, payout_id, count_submission)
    if doc is None:
        found = await db.payouts.find_one({"_id": payout_id})
        if found is None:
            raise not_found("payout")
        return found
    ple = await ple_config_by_id(res, doc["ple_id"])
    request = PayoutRequest(
        payout_id=payout_id,
        amount=doc["amount"],
        currency=doc["currency"],
        mode=doc["mode"],
        beneficiary=doc["beneficiary"],
        narration=doc.get("narration"),
    )
    try:
        result = await get_adapter(ple.provider, res.settings).create_payout(ple, request)
    except ProviderUnavailable as exc:  # ambiguous: stays pending, resubmitted with the same id
        attempt = doc["submissions"]
        if attempt <= len(SUBMIT_RETRY_DELAYS):
            delay = SUBMIT_RETRY_DELAYS[attempt - 1]
            await enqueue(
                res.queue,
                "submit_payout",
                key=f"submit:{payout_id}:{attempt}",
                scheduled=utcnow().timestamp() + delay,
                payout_id=payout_id,
            )
        log.warning("payout submission unanswered", payout_id=payout_id, attempt=attempt, kind=exc.kind)
        return doc
    except ProviderRejected as exc:
        moved = await move(res, payout_id, "failed", source, {"failure_code": "provider_rejected"})
        log.info("payout rejected by provider", payout_id=payout_id, code=exc.code)
        return moved or doc
    await apply_provider_status(
        res, payout_id, result.status, source=source, provider_reference=result.provider_reference
    )
    return await db.payouts.find_one({"_id": payout_id}) or doc


async def move(
    res: Resources, payout_id: str, to: str, source: str, fields: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    doc = await transition(
        res.mongo.db.payouts, payout_id, to=to, allowed_from=ALLOWED_FROM[to], source=source, fields=fields
    )
    if doc is None:
        return None
    PAYOUTS.add(1, {"status": to, "mode": doc["mode"], "provider": doc["provider"]})
    if to == "processing":  # first, so a failure while applying the effects cannot stop polling
        await schedule_poll(res, doc, attempt=1)
    await apply_payout_effects(res, doc)
    return doc


async def apply_provider_status(
    res: Resources, payout_id: str, status: str, *, source: str, provider_reference: str | None = None
) -> str:
    """Apply a status the provider reported (callback, poll, submission answer); forward only."""
    fields: dict[str, Any] = {"needs_review": False}
    if provider_reference:
        fields["provider_reference"] = provider_reference
    if status == "pending":
        return "ignored pending"
    if status == "reversed":  # reported reversed before we saw the success: pass through it
        await move(res, payout_id, "succeeded", source, dict(fields))
    if status == "failed":
        fields["failure_code"] = "provider_failed"
    moved = await move(res, payout_id, status, source, fields)
    return f"moved to {status}" if moved else f"ignored {status} (stale or duplicate)"


async def schedule_poll(res: Resources, doc: dict[str, Any], attempt: int) -> None:
    """Polls back off: initial delay, then doubling, up to PAYOUT_POLL_MAX_ATTEMPTS in all."""
    s = res.settings
    delay = s.payout_poll_initial_delay_seconds * (2 ** (attempt - 1))
    when = utcnow().timestamp() + delay
    # Remember the poll due, so the sweep can re-enqueue it if the job is lost (a killed worker,
    # a Redis restart): polling must not silently stop.
    await update_doc(
        res.mongo.db.payouts,
        doc["_id"],
        lambda d: {**d, "next_poll": {"attempt": attempt, "at": datetime.fromtimestamp(when, UTC)}},
    )
    await enqueue(
        res.queue,
        "poll_payout",
        key=f"poll:{doc['_id']}:{attempt}",
        scheduled=when,
        payout_id=doc["_id"],
        attempt=attempt,
    )


async def poll_once(res: Resources, payout_id: str, attempt: int) -> str:
    db = res.mongo.db
    doc = await db.payouts.find_one({"_id": payout_id})
    if doc is None or doc["status"] in FINAL:
        return "final"  # polling stops at a final status
    if doc["status"] == "pending":
        await submit_payout(res, payout_id, source="poll")
        return "resubmitted"
    ple = await ple_config_by_id(res, doc["ple_id"])
    await update_doc(db.payouts, payout_id, lambda d: {**d, "poll_attempts": attempt})
    result = await get_adapter(ple.provider, res.settings).payout_status(ple, payout_id)
    outcome = await apply_provider_status(
        res, payout_id, result.status, source="poll", provider_reference=result.provider_reference
    )
    fresh = await db.payouts.find_one({"_id": payout_id}, {"status": 1})
    if fresh and fresh["status"] == "processing":
        if attempt < res.settings.payout_poll_max_attempts:
            await schedule_poll(res, doc, attempt + 1)
        else:  # never failed by guesswork: a person looks at it
            await update_doc(
                db.payouts, payout_id, lambda d: {**d, "needs_review": True} if d["status"] == "processing" else None
            )
            await audit.record(
                res.mongo,
                actor="system:poll",
                action="payout.needs_review",
                target=payout_id,
                details={"poll_attempts": attempt},
            )
            return "needs_review"
    return outcome


async def apply_payout_effects(res: Resources, doc: dict[str, Any]) -> None:
    """Ledger, event and audit entry of each state reached; idempotent, re-runnable."""

    def effect_of(status: str) -> Effect:
        async def effect(cur: dict[str, Any], source: str) -> None:
            pid, mid, cur_ple, ccy = cur["_id"], cur["merchant_id"], cur["ple_id"], cur["currency"]
            if status == "succeeded":
                await ledger.settle_payout(pid, mid, cur_ple, ccy, cur["amount"], cur["fee"])
                await ledger.accrue_provider_fee(pid, cur_ple, ccy, cur["provider_fee"])
            elif status == "failed":
                await ledger.release_payout_funds(pid, mid, ccy, cur["amount"], cur["fee"])
            elif status == "reversed":
                await ledger.reverse_payout(pid, mid, cur_ple, ccy, cur["amount"], cur["fee"])
            await record_event(res, merchant_id=mid, type=f"payout.{status}", object_id=pid, data=public_payout(cur))
            await audit.record(
                res.mongo, actor=f"system:{source}", action=f"payout.{status}", target=pid, details={"status": status}
            )

        return effect

    await apply_effects(res.mongo.db.payouts, doc, {s: effect_of(s) for s in ("processing", *FINAL)})


async def get_payout(res: Resources, merchant_id: str, payout_id: str) -> dict[str, Any]:
    doc = await res.mongo.db.payouts.find_one({"_id": payout_id, "merchant_id": merchant_id})
    if doc is None:
        raise not_found("payout")
    return public_payout(doc)
