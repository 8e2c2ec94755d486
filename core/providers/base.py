"""The interface every provider adapter implements (ARCHITECTURE §5).

Adapters translate between the gateway's vocabulary (statuses, errors) and one provider's HTTP API.
Callers never see provider-specific statuses: an adapter maps them before returning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from core.payments.model import Kind, PayinMethod, PayinStatus, PayoutMode, PayoutStatus, RefundStatus

# "connect": refused before anything was sent, so the provider cannot have acted; every other kind
# leaves the outcome unknown (the request may have arrived): never treat it as a refusal.
UnavailableKind = Literal["connect", "timeout", "dropped", "http_5xx", "bad_response"]


@dataclass(frozen=True, slots=True)
class PleConfig:
    """A provider legal entity as an adapter needs it; `secret` is already decrypted."""

    ple_id: str
    provider: str
    base_url: str
    secret: str = field(repr=False)  # repr=False: a logged PleConfig never leaks the secret
    currency: str


@dataclass(frozen=True, slots=True)
class PayinRequest:
    payin_id: str
    amount: int  # minor units
    currency: str
    method: PayinMethod
    customer: dict[str, str]
    expires_at: datetime  # UTC
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class PayinResult:
    provider_reference: str | None
    status: PayinStatus  # pending, succeeded or failed
    amount: int  # what the provider holds for this payin: checked against ours before use
    currency: str
    payment_url: str | None = None
    instructions: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    payout_id: str  # also the provider-side idempotency key
    amount: int
    currency: str
    mode: PayoutMode
    beneficiary: dict[str, str]  # decrypted for this call only: name and account_number + ifsc, or vpa
    narration: str | None = None


@dataclass(frozen=True, slots=True)
class PayoutResult:
    provider_reference: str | None
    status: PayoutStatus  # processing, succeeded, failed or reversed
    amount: int
    currency: str
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    refund_id: str  # also the provider-side idempotency key
    payin_id: str
    payin_provider_reference: str | None
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    provider_reference: str | None
    status: RefundStatus  # processing, succeeded or failed
    amount: int
    currency: str
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """A verified provider callback, its status already in the gateway's vocabulary."""

    event_id: str
    kind: Kind
    object_id: str  # the gateway's payin/payout/refund id
    provider_reference: str | None
    status: str  # PayinStatus, PayoutStatus or RefundStatus, by kind
    amount: int  # what the provider says moved: never applied when it differs from ours
    currency: str
    occurred_at: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a provider's daily statement: money that moved for one of our transactions."""

    kind: Kind  # payin collected, payout paid, refund made
    provider_reference: str | None
    our_reference: str  # the gateway's payin/payout/refund id, as the provider recorded it
    amount: int
    currency: str
    fee: int  # what the provider charged for it
    occurred_at: datetime | None


class ProviderError(Exception):
    """Base of every error an adapter raises."""


class ProviderUnavailable(ProviderError):
    """The provider is down or the outcome of the call is unknown; never treat it as a refusal."""

    def __init__(self, kind: UnavailableKind, message: str = "") -> None:
        self.kind = kind
        super().__init__(f"provider unavailable ({kind}){': ' + message if message else ''}")


class ProviderRejected(ProviderError):
    """A definitive refusal: the provider did not and will not act on this request."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"provider rejected ({code}){': ' + message if message else ''}")


class ProviderNotFound(ProviderError):
    """A status query for an object the provider does not know: its creation never reached it."""


class InvalidCallbackSignature(ProviderError):
    """The callback's signature is missing or does not verify with the PLE secret."""


class MalformedCallback(ProviderError):
    """The callback is signed correctly but its body cannot be understood."""


@runtime_checkable
class ProviderAdapter(Protocol):
    code: str

    async def create_payin(self, ple: PleConfig, req: PayinRequest) -> PayinResult: ...

    async def payin_status(self, ple: PleConfig, payin_id: str) -> PayinResult: ...

    async def create_payout(self, ple: PleConfig, req: PayoutRequest) -> PayoutResult: ...

    async def payout_status(self, ple: PleConfig, payout_id: str) -> PayoutResult: ...

    async def create_refund(self, ple: PleConfig, req: RefundRequest) -> RefundResult: ...

    async def refund_status(self, ple: PleConfig, refund_id: str) -> RefundResult: ...

    def verify_callback(self, secret: str, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent: ...

    async def fetch_statement(self, ple: PleConfig, day: date) -> list[StatementLine]:
        """The provider's record of the UTC day for this PLE (ProviderUnavailable if unreadable)."""
        ...

    async def aclose(self) -> None: ...
