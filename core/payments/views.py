"""The API shape of each transaction (ARCHITECTURE §4.5, §4.6, §4.9), produced in one place.

Objects share one shape for their common fields, as Stripe's do; times are ISO 8601 UTC with a
`Z`; the beneficiary's account number and VPA leave masked. These structs are also the event
`data` and the named schemas of the OpenAPI documents.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from core.payments.model import (
    Customer,
    Payin,
    PayinMethod,
    PayinStatus,
    Payout,
    PayoutMode,
    PayoutStatus,
    Refund,
    RefundStatus,
    Transaction,
)
from core.timeutil import iso


class StatusChange(msgspec.Struct, frozen=True):
    status: str
    at: str


class _Common(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    amount: int
    currency: str
    reference: str
    provider: str
    provider_reference: str | None
    failure_code: str | None
    needs_review: bool
    metadata: dict[str, str]
    status_history: list[StatusChange]
    created_at: str
    updated_at: str


class PayinView(_Common, frozen=True, kw_only=True):
    object: Literal["payin"] = "payin"
    status: PayinStatus
    fee: int
    net_amount: int
    amount_refunded: int
    method: PayinMethod
    late: bool
    customer: Customer
    payment_url: str | None
    instructions: dict[str, str] | None
    expires_at: str
    return_url: str | None


class BeneficiaryView(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    account_number: str | None = None  # masked to its last 4 digits
    ifsc: str | None = None
    vpa: str | None = None  # masked to its first 2 characters and its handle


class PayoutView(_Common, frozen=True, kw_only=True):
    object: Literal["payout"] = "payout"
    status: PayoutStatus
    fee: int
    total_debited: int
    mode: PayoutMode
    beneficiary: BeneficiaryView
    narration: str | None


class RefundView(_Common, frozen=True, kw_only=True):
    object: Literal["refund"] = "refund"
    status: RefundStatus
    payin_id: str
    reason: str | None


def _common(obj: Transaction) -> dict[str, object]:
    return {
        "id": obj.id,
        "amount": obj.amount,
        "currency": obj.currency,
        "reference": obj.reference,
        "provider": obj.provider,
        "provider_reference": obj.provider_reference,
        "failure_code": obj.failure_code,
        "needs_review": obj.needs_review,
        "metadata": obj.metadata,
        "status_history": [StatusChange(status=str(h.status), at=iso(h.at) or "") for h in obj.history],
        "created_at": iso(obj.created_at) or "",
        "updated_at": iso(obj.updated_at) or "",
    }


def payin_view(p: Payin) -> PayinView:
    return PayinView(
        **_common(p),  # type: ignore[arg-type]
        status=p.status,
        fee=p.fee,
        net_amount=p.amount - p.fee,
        amount_refunded=p.amount_refunded,
        method=p.method,
        late=p.late,
        customer=p.customer,
        payment_url=p.payment_url,
        instructions=p.instructions,
        expires_at=iso(p.expires_at) or "",
        return_url=p.return_url,
    )


def payout_view(p: Payout) -> PayoutView:
    b = p.beneficiary
    return PayoutView(
        **_common(p),  # type: ignore[arg-type]
        status=p.status,
        fee=p.fee,
        total_debited=p.amount + p.fee,
        mode=p.mode,
        beneficiary=BeneficiaryView(name=b.name, account_number=b.account_mask, ifsc=b.ifsc, vpa=b.vpa_mask),
        narration=p.narration,
    )


def refund_view(r: Refund) -> RefundView:
    return RefundView(**_common(r), status=r.status, payin_id=r.payin_id, reason=r.reason)  # type: ignore[arg-type]


def admin_view(obj: Transaction) -> dict[str, object]:
    """A transaction as the admin API and screens show it: its API shape plus its merchant."""
    views = {Payin: payin_view, Payout: payout_view, Refund: refund_view}
    shown = msgspec.to_builtins(views[type(obj)](obj))  # type: ignore[operator]
    return {**shown, "merchant_id": obj.merchant_id}
