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
    """`account_number` comes back masked to its last 4 digits."""

    name: str
    account_number: str | None = None
    ifsc: str | None = None
    vpa: str | None = None


class Payin(_Tagged, frozen=True, kw_only=True, tag="payin"):
    id: str
    amount: int
    currency: str
    reference: str
    status: PayinStatus
    method: PayinMethod
    customer: Customer
    fee: int
    net_amount: int
    provider: str
    provider_reference: str | None = None
    payment_url: str | None = None
    instructions: dict[str, str] | None = None
    expires_at: datetime
    return_url: str | None = None
    late: bool = False
    needs_review: bool = False
    amount_refunded: int = 0
    failure_code: str | None = None
    metadata: dict[str, str] = {}
    status_history: list[StatusChange] = []
    created_at: datetime
    updated_at: datetime


class Payout(_Tagged, frozen=True, kw_only=True, tag="payout"):
    id: str
    amount: int
    currency: str
    reference: str
    status: PayoutStatus
    mode: PayoutMode
    beneficiary: Beneficiary
    fee: int
    total_debited: int
    provider: str
    provider_reference: str | None = None
    narration: str | None = None
    needs_review: bool = False
    failure_code: str | None = None
    metadata: dict[str, str] = {}
    status_history: list[StatusChange] = []
    created_at: datetime
    updated_at: datetime


class Refund(_Tagged, frozen=True, kw_only=True, tag="refund"):
    id: str
    payin_id: str
    amount: int
    currency: str
    reference: str
    reason: str | None = None
    status: RefundStatus
    provider: str
    provider_reference: str | None = None
    failure_code: str | None = None
    needs_review: bool = False
    metadata: dict[str, str] = {}
    status_history: list[StatusChange] = []
    created_at: datetime
    updated_at: datetime


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
