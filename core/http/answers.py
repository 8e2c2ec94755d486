"""The named answer shapes of the OpenAPI documents (ARCHITECTURE §4.2, §4.4-§4.9).

Payins, payouts and refunds leave as the views of core/payments/views.py; these subclasses only
give them the component names merchants know (`Payin`, not `PayinView`). The other objects are
built as dicts by their services (core/balances.py, core/events.py, core/webhooks/service.py);
the structs here describe those dicts, and schemathesis' response_schema_conformance over the
real roles (tests/fuzz/test_schemathesis.py) keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from core.balances import ENTRY_KINDS
from core.errors import ERROR_STATUS
from core.events import EVENT_TYPES
from core.payments.views import PayinView, PayoutView, RefundView
from core.webhooks.service import DELIVERY_STATUSES

ErrorCode = Literal[tuple(ERROR_STATUS)]  # type: ignore[valid-type]


class Payin(PayinView, frozen=True, kw_only=True):
    """A collection from a customer (§4.5)."""


class Payout(PayoutView, frozen=True, kw_only=True):
    """A transfer to a beneficiary (§4.6); the account number and VPA leave masked."""


class Refund(RefundView, frozen=True, kw_only=True):
    """Money returned on a payin (§4.9)."""


PUBLIC_NAMES: dict[type[Any], type[Any]] = {PayinView: Payin, PayoutView: Payout, RefundView: Refund}


class CurrencyBalance(msgspec.Struct, frozen=True):
    currency: str
    available: int
    reserved: int


class Balance(msgspec.Struct, frozen=True):
    """Available and reserved funds, one item per currency, in minor units."""

    object: Literal["balance"]
    data: list[CurrencyBalance]


class Posting(msgspec.Struct, frozen=True):
    account: str
    amount: int


class LedgerEntry(msgspec.Struct, frozen=True):
    """One balanced entry of the merchant's statement; `net` is its effect on `available`."""

    id: str
    object: Literal["ledger_entry"]
    kind: Literal[ENTRY_KINDS]  # type: ignore[valid-type]
    transaction_id: str | None
    currency: str
    created_at: str
    postings: list[Posting]
    net: int


class Event(msgspec.Struct, frozen=True):
    """Something that happened to a transaction; `data` is the transaction as it then was."""

    id: str
    object: Literal["event"]
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    created_at: str
    # The transaction's own shape (Payin, Payout or Refund, by `type`); an untagged union of
    # structs has no msgspec schema, and those components live in the payment role's document.
    data: Annotated[dict[str, Any], msgspec.Meta(description="the payin, payout or refund, as GET answers it")]


class DeliveryAttempt(msgspec.Struct, frozen=True):
    at: str | None
    status_code: int | None
    latency_ms: int | float | None
    error: str | None
    response_excerpt: str


class WebhookDelivery(msgspec.Struct, frozen=True):
    """The sending of one event to the merchant's webhook URL, with every attempt."""

    id: str
    object: Literal["webhook_delivery"]
    event_id: str
    event_type: str | None
    url: str | None
    status: Literal[DELIVERY_STATUSES]  # type: ignore[valid-type]
    attempts: list[DeliveryAttempt]
    next_attempt_at: str | None
    created_at: str | None


class RateLimit(msgspec.Struct, frozen=True):
    per_second: int | None  # None: the gateway's default (RATE_LIMIT_PER_SECOND)
    burst: int | None


class ApiKey(msgspec.Struct, frozen=True):
    """A merchant's API key, never its secret."""

    id: str
    object: Literal["api_key"]
    status: Literal["active", "revoked"]
    created_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class Merchant(msgspec.Struct, frozen=True, kw_only=True):
    """A merchant as the admin API shows it (§4.8); `api_keys` on a single merchant only."""

    id: str
    object: Literal["merchant"]
    name: str
    status: Literal["active", "suspended"]
    ip_whitelist: list[str]
    webhook_url: str | None
    fee_plans: dict[str, Any]
    rate_limit: RateLimit
    created_at: str | None
    updated_at: str | None
    api_keys: list[ApiKey] | None = None


class MerchantCreated(Merchant, frozen=True, kw_only=True):
    """A new merchant with its first key; `secret` and `webhook_secret` are shown this once."""

    key_id: str
    secret: str
    webhook_secret: str


class Ple(msgspec.Struct, frozen=True, kw_only=True):
    """A provider legal entity (§5); `secret` only in the answer that generated it."""

    id: str
    object: Literal["ple"]
    provider: str
    name: str
    currency: str
    base_url: str
    fee_schedule: dict[str, Any]
    active: bool
    created_at: str | None
    updated_at: str | None
    secret: str | None = None


class Settlement(msgspec.Struct, frozen=True):
    """Provider fees of one PLE and UTC day, settled once (docs/settlement.md)."""

    id: str
    object: Literal["settlement"]
    ple_id: str
    date: str
    currency: str
    total: int
    entry_id: str | None
    created_at: str | None
    skipped: bool


class Echo(msgspec.Struct, frozen=True):
    message: str
    count: int


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    code: ErrorCode  # type: ignore[valid-type]
    message: str
    request_id: str
    param: str | None = None  # the field at fault, by dotted path
    existing_id: str | None = None  # on duplicate_reference: the object that holds the reference


class Error(msgspec.Struct, frozen=True):
    """The one error shape (§4.2)."""

    error: ErrorDetail


def _list_of(item: type[Any]) -> type[msgspec.Struct]:
    """The list envelope (§4.2) of `item`, named `<Item>List`."""
    return msgspec.defstruct(
        f"{item.__name__}List",
        [("object", Literal["list"]), ("data", list[item]), ("has_more", bool)],  # type: ignore[valid-type]
        frozen=True,
        module=__name__,
    )


PayinList = _list_of(Payin)
PayoutList = _list_of(Payout)
RefundList = _list_of(Refund)
LedgerEntryList = _list_of(LedgerEntry)
EventList = _list_of(Event)
WebhookDeliveryList = _list_of(WebhookDelivery)
MerchantList = _list_of(Merchant)
PleList = _list_of(Ple)
SettlementList = _list_of(Settlement)
