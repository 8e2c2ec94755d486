"""The objects the gateway answers with (ARCHITECTURE §4.5-§4.9), as typed, immutable structs.

Decoding is strict about what the contract fixes (types, statuses, event types) and lenient
about additions: fields a newer gateway adds are ignored, so an older SDK keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

import msgspec

PayinStatus = Literal["pending", "succeeded", "failed", "expired"]
PayinMethod = Literal["upi", "bank_transfer", "card"]
PayoutStatus = Literal["pending", "processing", "succeeded", "failed", "reversed"]
PayoutMode = Literal["imps", "neft", "rtgs", "upi"]
RefundStatus = Literal["pending", "processing", "succeeded", "failed"]
EventType = Literal[
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
]


class Model(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every model: immutable, keyword-only, unknown fields ignored."""

    def to_dict(self) -> dict[str, object]:
        """The object as plain JSON-compatible data (datetimes as ISO 8601 strings)."""
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


class _Tagged(Model, frozen=True, kw_only=True, tag_field="object"):
    @property
    def object(self) -> str:
        """The kind of object (`"payin"`, `"payout"`, `"refund"`), as the gateway's `object` field."""
        return str(type(self).__struct_config__.tag)


class StatusChange(Model, frozen=True, kw_only=True):
    status: str
    at: datetime


class Customer(Model, frozen=True, kw_only=True):
    name: str
    email: str
    phone: str | None = None


class Beneficiary(Model, frozen=True, kw_only=True):
    name: str
    account_number: str | None = None
    ifsc: str | None = None
    vpa: str | None = None


class _Transaction(_Tagged, frozen=True, kw_only=True):
    """The fields payins, payouts and refunds share (the gateway answers them in one shape)."""

    id: str
    amount: int
    currency: str
    reference: str
    provider: str
    provider_reference: str | None = None
    failure_code: str | None = None
    needs_review: bool = False
    metadata: dict[str, str] = {}
    status_history: list[StatusChange] = []
    created_at: datetime
    updated_at: datetime


class Payin(_Transaction, frozen=True, kw_only=True, tag="payin"):
    status: PayinStatus
    method: PayinMethod
    customer: Customer
    fee: int
    net_amount: int
    payment_url: str | None = None
    instructions: dict[str, str] | None = None
    expires_at: datetime
    return_url: str | None = None
    late: bool = False
    amount_refunded: int = 0


class Payout(_Transaction, frozen=True, kw_only=True, tag="payout"):
    """`beneficiary.account_number` is masked to its last 4 digits."""

    status: PayoutStatus
    mode: PayoutMode
    beneficiary: Beneficiary
    fee: int
    total_debited: int
    narration: str | None = None


class Refund(_Transaction, frozen=True, kw_only=True, tag="refund"):
    """A refund carries no fee; the payin's merchant fee is not returned (§4.9)."""

    status: RefundStatus
    payin_id: str
    reason: str | None = None


class CurrencyBalance(Model, frozen=True, kw_only=True):
    currency: str
    available: int
    reserved: int


class Balance(Model, frozen=True, kw_only=True):
    """One item per currency the merchant has; `balance["INR"]` picks one (zeros when absent)."""

    data: list[CurrencyBalance]

    def __getitem__(self, currency: str) -> CurrencyBalance:
        for item in self.data:
            if item.currency == currency:
                return item
        return CurrencyBalance(currency=currency, available=0, reserved=0)


class Event(Model, frozen=True, kw_only=True):
    """A webhook event (also what `events.list()` and `events.get()` answer)."""

    id: str
    type: EventType
    created_at: datetime
    data: Payin | Payout | Refund


T = TypeVar("T")


class Page(Model, Generic[T], frozen=True, kw_only=True):
    """One page of a list answer; the resources' `list()` walks every page for you."""

    data: list[T]
    has_more: bool
