"""The payments domain, typed once: kinds, statuses, methods and the stored transactions.

Everything in core/payments (and the adapters, the sweeps, the dashboard, the list filters)
reads statuses, methods and modes from here; nothing retypes them. A transaction is a msgspec
struct that is exactly its MongoDB document (`id` is stored as `_id`), decoded once when read
and encoded once when written (core/payments/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec


class Kind(StrEnum):
    PAYIN = "payin"
    PAYOUT = "payout"
    REFUND = "refund"


class PayinStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


class RefundStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PayinMethod(StrEnum):
    UPI = "upi"
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"


class PayoutMode(StrEnum):
    IMPS = "imps"
    NEFT = "neft"
    RTGS = "rtgs"
    UPI = "upi"


# Final statuses: a transaction there has had every effect it will ever have, except the moves
# the machines still allow out of them (expired → succeeded, succeeded → reversed).
PAYIN_FINAL = frozenset({PayinStatus.SUCCEEDED, PayinStatus.FAILED, PayinStatus.EXPIRED})
PAYOUT_FINAL = frozenset({PayoutStatus.SUCCEEDED, PayoutStatus.FAILED, PayoutStatus.REVERSED})
REFUND_FINAL = frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED})
FINAL: dict[Kind, frozenset[str]] = {Kind.PAYIN: PAYIN_FINAL, Kind.PAYOUT: PAYOUT_FINAL, Kind.REFUND: REFUND_FINAL}
STATUSES: dict[Kind, tuple[str, ...]] = {
    Kind.PAYIN: tuple(PayinStatus),
    Kind.PAYOUT: tuple(PayoutStatus),
    Kind.REFUND: tuple(RefundStatus),
}
COLLECTION: dict[Kind, str] = {Kind.PAYIN: "payins", Kind.PAYOUT: "payouts", Kind.REFUND: "refunds"}
DIRECTION_METHODS: dict[str, tuple[str, ...]] = {"payin": tuple(PayinMethod), "payout": tuple(PayoutMode)}


class FailureCode(StrEnum):
    PROVIDER_REJECTED = "provider_rejected"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_FAILED = "provider_failed"
    AMOUNT_MISMATCH = "amount_mismatch"
    EXPIRED = "expired"
    RETURNED = "returned_by_bank"


class Outcome(StrEnum):
    """What applying a change or a provider report did."""

    APPLIED = "applied"  # the state changed
    DUPLICATE = "duplicate"  # already in that state: nothing to do
    STALE = "stale"  # a forward-only machine refused to go back
    MISMATCH = "mismatch"  # amount, currency or PLE disagree: not applied, flagged for review
    UNKNOWN = "unknown"  # no such transaction


class Step(msgspec.Struct, frozen=True):
    """One entry of a transaction's history: the status it reached, when, and who said so."""

    status: str
    at: datetime
    source: str


class NextPoll(msgspec.Struct, frozen=True):
    """The status query due next; kept on the document so a lost job is re-enqueued by the sweep."""

    attempt: int
    at: datetime


class OutboxItem(msgspec.Struct, frozen=True, kw_only=True):
    """A side effect that need not block the answer, written in the same compare-and-set as the
    state change it belongs to and drained by a job (core/payments/machine.py)."""

    id: str
    event: str | None = None  # the merchant event type, e.g. "payout.succeeded"
    data: str | None = None  # the object as the API showed it at that moment (JSON text)
    audit: str | None = None  # the audit action, e.g. "payout.succeeded"
    audit_details: str | None = None  # JSON text of the audit details
    actor: str = "system"
    request_id: str | None = None
    trace_id: str | None = None


class Transaction(msgspec.Struct, kw_only=True):
    """What every payin, payout and refund document holds."""

    id: str = msgspec.field(name="_id")
    merchant_id: str
    reference: str
    amount: int
    currency: str
    status: str
    fee: int = 0
    provider_fee: int = 0
    ple_id: str
    provider: str
    provider_reference: str | None = None
    failure_code: str | None = None
    needs_review: bool = False
    review_reason: str | None = None  # "amount_mismatch" | "polls_exhausted"
    metadata: dict[str, str] = {}
    history: list[Step] = []
    outbox: list[OutboxItem] = []
    effects_pending: bool = False
    next_poll: NextPoll | None = None
    submissions: int = 0
    last_submitted_at: datetime | None = None
    version: int = 0
    created_at: datetime
    updated_at: datetime


class Customer(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    email: str
    phone: str | None = None


class Payin(Transaction, kw_only=True):
    status: PayinStatus
    method: PayinMethod
    customer: Customer
    return_url: str | None = None
    payment_url: str | None = None
    instructions: dict[str, str] | None = None
    expires_at: datetime
    late: bool = False
    amount_refunded: int = 0


class StoredBeneficiary(msgspec.Struct, frozen=True, kw_only=True):
    """A payout beneficiary at rest: the account number and VPA only encrypted (with the keyring),
    a mask for display and a keyed hash for search (core/payments/beneficiary.py)."""

    name: str
    ifsc: str | None = None
    account_mask: str | None = None
    account_enc: str | None = None
    account_hash: str | None = None
    vpa_mask: str | None = None
    vpa_enc: str | None = None
    vpa_hash: str | None = None


class Payout(Transaction, kw_only=True):
    status: PayoutStatus
    mode: PayoutMode
    beneficiary: StoredBeneficiary
    narration: str | None = None


class Refund(Transaction, kw_only=True):
    status: RefundStatus
    payin_id: str
    reason: str | None = None


TransactionType = Payin | Payout | Refund
TYPES: dict[Kind, type[Transaction]] = {Kind.PAYIN: Payin, Kind.PAYOUT: Payout, Kind.REFUND: Refund}


class Answer(Protocol):
    """A provider's answer about one transaction (PayinResult, PayoutResult, RefundResult)."""

    @property
    def provider_reference(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ProviderReport:
    """A status a provider reported, with who vouches for it.

    `ple_id` is the PLE whose credentials verified the callback, or the PLE the gateway asked:
    a report only ever changes a transaction routed through that PLE. `amount` and `currency`
    are what the provider says moved; a report that disagrees with the transaction is never
    applied as it stands (ARCHITECTURE §4.5).
    """

    ple_id: str
    status: str  # in the kind's vocabulary (PayinStatus, PayoutStatus, RefundStatus)
    amount: int
    currency: str
    provider_reference: str | None
    source: str  # "api", "poll", "sweep", "callback:<event id>"

    @classmethod
    def of(cls, answer: Answer, ple_id: str, source: str) -> ProviderReport:
        """The report of an answer to a call the gateway made to `ple_id`."""
        return cls(
            ple_id=ple_id,
            status=answer.status,
            amount=answer.amount,
            currency=answer.currency,
            provider_reference=answer.provider_reference,
            source=source,
        )
