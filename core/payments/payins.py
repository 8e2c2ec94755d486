"""Payins (§4.5): create through the routed provider, the state machine, and its effects.

States: pending → succeeded | failed | expired; expired → succeeded (late: money that arrived
is never dropped). On succeeded the ledger credits `amount - fee` and accrues the provider fee,
with idempotency keys derived from the payin id, so a duplicated callback never credits twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
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
from core.observability.metrics import PAYINS
from core.payments import validation as v
from core.payments.shape import transaction_fields
from core.payments.transitions import Effect, apply_effects, transition
from core.providers.base import PayinRequest, ProviderRejected, ProviderUnavailable
from core.providers.registry import get_adapter
from core.resources import Resources
from core.routing import ple_config_by_id, resolve_route
from core.storage.mongo import update_doc
from core.timeutil import iso, utcnow

log = structlog.get_logger("payins")
METHODS = ("upi", "bank_transfer", "card")
FINAL = ("succeeded", "failed", "expired")
ALLOWED_FROM = {"succeeded": ("pending", "expired"), "failed": ("pending",), "expired": ("pending",)}


@dataclass
class PayinInput:
    amount: int
    currency: str
    reference: str
    method: str
    customer: dict[str, str]
    expires_in_minutes: int | None = None
    return_url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def public_payin(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **transaction_fields(doc, "payin"),
        "method": doc["method"],
        "late": doc.get("late", False),
        "customer": doc["customer"],
        "net_amount": doc["amount"] - doc["fee"],
        "payment_url": doc.get("payment_url"),
        "instructions": doc.get("instructions"),
        "expires_at": iso(doc["expires_at"]),
        "return_url": doc.get("return_url"),
    }


def _validate(res: Resources, data: PayinInput) -> int:
    v.check_amount(data.amount, v.MAX_PAYIN_AMOUNT)
    v.check_currency(data.currency)
    v.check_reference(data.reference)
    if data.method not in METHODS:
        raise v.bad("method", f"method must be one of {', '.join(METHODS)}")
    v.check_text(data.customer.get("name", ""), "customer.name", 200)
    v.check_email(data.customer.get("email", ""))
    if data.customer.get("phone") is not None:
        v.check_phone(data.customer["phone"])
    v.check_metadata(data.metadata)
    v.check_url(data.return_url, "return_url")
    minutes = data.expires_in_minutes or res.settings.payin_auto_expire_minutes
    if not 1 <= minutes <= res.settings.payin_max_expire_minutes:
        raise v.bad("expires_in_minutes", f"expires_in_minutes must be 1-{res.settings.payin_max_expire_minutes}")
    return minutes


async def create_payin(res: Resources, merchant_id: str, data: PayinInput) -> dict[str, Any]:
    minutes = _validate(res, data)
    ple, provider_plan = await resolve_route(res, merchant_id, "payin", data.method)
    if ple.currency != data.currency:
        raise ApiError("no_route", f"no provider route for {data.currency} payins", param="currency")
    merchant = await fetch_merchant(merchant_id)
    merchant_plan = ((merchant or {}).get("fee_plans") or {}).get("payin", {}).get(data.method) or {}
    fees = compute_fees(data.amount, plan_or_free(merchant_plan), plan_or_free(provider_plan))
    if fees.fee >= data.amount:
        raise v.bad("amount", "amount does not cover the fee")
    now = utcnow()
    payin_id = new_id("pi")
    structlog.contextvars.bind_contextvars(payin_id=payin_id)
    doc: dict[str, Any] = {
        "_id": payin_id,
        "merchant_id": merchant_id,
        "reference": data.reference,
        "amount": data.amount,
        "currency": data.currency,
        "method": data.method,
        "customer": data.customer,
        "return_url": data.return_url,
        "metadata": data.metadata,
        "status": "pending",
        "fee": fees.fee,
        "provider_fee": fees.provider_fee,
        "ple_id": ple.ple_id,
        "provider": ple.provider,
        "provider_reference": None,
        "expires_at": now + timedelta(seconds=minutes * res.settings.payin_expiry_unit_seconds),
        "history": [{"status": "pending", "at": now, "source": "api"}],
        "effects_pending": False,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await res.mongo.db.payins.insert_one(doc)
    except DuplicateKeyError:
        existing = await res.mongo.db.payins.find_one({"merchant_id": merchant_id, "reference": data.reference})
        raise ApiError(
            "duplicate_reference",
            "a payin with this reference exists",
            param="reference",
            extra={"existing_id": existing["_id"] if existing else None},
        ) from None
    PAYINS.add(1, {"status": "pending", "method": data.method, "provider": ple.provider})
    adapter = get_adapter(ple.provider, res.settings)
    request = PayinRequest(
        payin_id=payin_id,
        amount=data.amount,
        currency=data.currency,
        method=data.method,  # type: ignore[arg-type]
        customer=data.customer,
        expires_at=doc["expires_at"],
        return_url=data.return_url,
    )
    try:
        result = await adapter.create_payin(ple, request)
    except ProviderUnavailable as exc:
        await fail_payin(res, payin_id, "provider_unavailable", source="api")
        raise ApiError("provider_unavailable", "the payment provider did not answer; nothing was charged") from exc
    except ProviderRejected:
        failed = await fail_payin(res, payin_id, "provider_rejected", source="api")
        return public_payin(failed or doc)
    fields = {
        "provider_reference": result.provider_reference,
        "payment_url": result.payment_url,
        "instructions": result.instructions,
        "updated_at": utcnow(),
    }
    stored = await update_doc(res.mongo.db.payins, payin_id, lambda d: {**d, **fields})
    doc = stored or {**doc, **fields}
    await schedule_expiry(res, payin_id, expires_at=doc["expires_at"])
    return public_payin(doc)


async def schedule_expiry(res: Resources, payin_id: str, *, expires_at: Any = None, retry: bool = False) -> None:
    """`expire_payin` at the payin's expires_at (a retry waits at least one more second)."""
    if expires_at is None:
        doc = await res.mongo.db.payins.find_one({"_id": payin_id}, {"expires_at": 1})
        if doc is None:
            return
        expires_at = doc["expires_at"]
    when = max(expires_at.timestamp(), utcnow().timestamp() + 1) if retry else expires_at.timestamp()
    key = f"expire:{payin_id}:{int(when)}" if retry else f"expire:{payin_id}"
    await enqueue(res.queue, "expire_payin", key=key, scheduled=when, payin_id=payin_id)


async def get_payin(res: Resources, merchant_id: str, payin_id: str) -> dict[str, Any]:
    doc = await res.mongo.db.payins.find_one({"_id": payin_id, "merchant_id": merchant_id})
    if doc is None:
        raise not_found("payin")
    return public_payin(doc)


async def _move(res: Resources, payin_id: str, to: str, source: str, fields: Any) -> dict[str, Any] | None:
    doc = await transition(
        res.mongo.db.payins, payin_id, to=to, allowed_from=ALLOWED_FROM[to], source=source, fields=fields
    )
    if doc is None:
        return None
    PAYINS.add(1, {"status": to, "method": doc["method"], "provider": doc["provider"]})
    await apply_payin_effects(res, doc)
    return doc


async def succeed_payin(
    res: Resources, payin_id: str, *, source: str, provider_reference: str | None = None
) -> dict[str, Any] | None:
    """Mark paid (also late, after expiry); None when it already was, or cannot be."""

    def fields(doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"failure_code": None, "late": doc["status"] == "expired"}
        if provider_reference:
            out["provider_reference"] = provider_reference
        return out

    return await _move(res, payin_id, "succeeded", source, fields)


async def fail_payin(res: Resources, payin_id: str, failure_code: str, *, source: str) -> dict[str, Any] | None:
    return await _move(res, payin_id, "failed", source, {"failure_code": failure_code})


async def expire_payin_now(res: Resources, payin_id: str, *, source: str) -> dict[str, Any] | None:
    return await _move(res, payin_id, "expired", source, {"failure_code": "expired"})


async def apply_payin_effects(res: Resources, doc: dict[str, Any]) -> None:
    """Ledger, event and audit entry of each state reached; idempotent, re-runnable."""

    async def final(status: str) -> Effect:
        async def effect(current: dict[str, Any], source: str) -> None:
            payin_id = current["_id"]
            if status == "succeeded":
                await ledger.credit_payin(
                    payin_id,
                    current["merchant_id"],
                    current["ple_id"],
                    current["currency"],
                    current["amount"],
                    current["fee"],
                )
                await ledger.accrue_provider_fee(
                    payin_id, current["ple_id"], current["currency"], current["provider_fee"]
                )
            await record_event(
                res,
                merchant_id=current["merchant_id"],
                type=f"payin.{status}",
                object_id=payin_id,
                data=public_payin(current),
            )
            late = status == "succeeded" and current.get("late")
            await audit.record(
                res.mongo,
                actor=f"system:{source}",
                target=payin_id,
                action="payin.late_succeeded" if late else f"payin.{status}",
                details={"status": status},
            )

        return effect

    await apply_effects(res.mongo.db.payins, doc, {s: await final(s) for s in FINAL})


async def check_with_provider(res: Resources, payin_id: str, *, source: str) -> str:
    """Ask the provider and apply what it says; expire only a payin it reports unpaid and past
    its expiry. Returns the payin's status afterwards."""
    doc = await res.mongo.db.payins.find_one({"_id": payin_id})
    if doc is None:
        raise not_found("payin")
    if doc["status"] not in ("pending", "expired"):
        return str(doc["status"])
    ple = await ple_config_by_id(res, doc["ple_id"])
    result = await get_adapter(ple.provider, res.settings).payin_status(ple, payin_id)
    if result.status == "succeeded":
        await succeed_payin(res, payin_id, source=source, provider_reference=result.provider_reference)
    elif result.status == "failed" and doc["status"] == "pending":
        await fail_payin(res, payin_id, "provider_failed", source=source)
    elif doc["status"] == "pending" and doc["expires_at"] <= utcnow():
        await expire_payin_now(res, payin_id, source=source)
    fresh = await res.mongo.db.payins.find_one({"_id": payin_id}, {"status": 1})
    return str(fresh["status"]) if fresh else "unknown"
