"""The API's resources, written once for both clients.

A resource method only describes its call (`Call`) and hands it to its client's runner: the
sync runner returns the result, the async runner a coroutine (and for `list()` an iterator or an
async iterator). The overloads tell type checkers which: `Payins[Sync]` (on `Client`) returns a
`Payin`, `Payins[Async]` (on `AsyncClient`) an awaitable of one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import datetime
from typing import Any, Generic, NotRequired, Protocol, TypedDict, TypeVar, Unpack, overload

from gateway_client._core import Call, Pager, segment
from gateway_client.models import (
    Event,
    EventType,
    Payin,
    PayinMethod,
    PayinStatus,
    Payout,
    PayoutMode,
    PayoutStatus,
    Refund,
    RefundStatus,
)

T = TypeVar("T")
M = TypeVar("M")


class Sync:
    """Marks resources of `Client`: methods return their result."""


class Async:
    """Marks resources of `AsyncClient`: methods return awaitables (and `list()` async iterators)."""


class Runner(Protocol):
    def run(self, call: Call[Any]) -> Any: ...

    def iterate(self, pager: Pager[Any]) -> Any: ...


class CustomerParams(TypedDict):
    name: str
    email: str
    phone: NotRequired[str]


class PayinParams(TypedDict):
    amount: int
    currency: str
    reference: str
    method: PayinMethod
    customer: CustomerParams
    expires_in_minutes: NotRequired[int]
    return_url: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class BeneficiaryParams(TypedDict):
    name: str
    account_number: NotRequired[str]
    ifsc: NotRequired[str]
    vpa: NotRequired[str]


class PayoutParams(TypedDict):
    amount: int
    currency: str
    reference: str
    mode: PayoutMode
    beneficiary: BeneficiaryParams
    narration: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class RefundParams(TypedDict):
    payin_id: str
    reference: str
    amount: NotRequired[int]
    reason: NotRequired[str]
    metadata: NotRequired[dict[str, str]]


class PayinFilters(TypedDict, total=False):
    status: PayinStatus
    reference: str
    created_gte: datetime | str
    created_lt: datetime | str
    starting_after: str


class PayoutFilters(TypedDict, total=False):
    status: PayoutStatus
    reference: str
    created_gte: datetime | str
    created_lt: datetime | str
    starting_after: str


class RefundFilters(TypedDict, total=False):
    payin_id: str
    status: RefundStatus
    reference: str
    created_gte: datetime | str
    created_lt: datetime | str
    starting_after: str


class EventFilters(TypedDict, total=False):
    type: EventType
    starting_after: str


class Resource(Generic[T, M]):
    """A collection under `path` whose objects decode to `model`."""

    path: str
    model: type[T]

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @overload
    def get(self: Resource[T, Sync], id: str) -> T: ...
    @overload
    def get(self: Resource[T, Async], id: str) -> Awaitable[T]: ...
    def get(self, id: str) -> Any:
        """One object by id; another merchant's, or none, raises ApiError 404 `not_found`."""
        return self._runner.run(Call("GET", f"{self.path}/{segment(id)}", self.model))

    def _create(self, params: dict[str, Any], idempotency_key: str | None) -> Any:
        return self._runner.run(Call("POST", self.path, self.model, body=params, idempotency_key=idempotency_key))

    def _list(self, limit: int, filters: dict[str, Any]) -> Any:
        return self._runner.iterate(Pager(self.path, self.model, limit, filters))


class Payins(Resource[Payin, M]):
    """`/v1/payins` (§4.5): collect money from a customer."""

    path, model = "/v1/payins", Payin

    @overload
    def create(self: Payins[Sync], *, idempotency_key: str | None = None, **params: Unpack[PayinParams]) -> Payin: ...
    @overload
    def create(
        self: Payins[Async], *, idempotency_key: str | None = None, **params: Unpack[PayinParams]
    ) -> Awaitable[Payin]: ...
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Any:
        """Create a payin. Retries reuse `idempotency_key` (one is generated when not given)."""
        return self._create(params, idempotency_key)

    @overload
    def list(self: Payins[Sync], *, limit: int = 20, **filters: Unpack[PayinFilters]) -> Iterator[Payin]: ...
    @overload
    def list(self: Payins[Async], *, limit: int = 20, **filters: Unpack[PayinFilters]) -> AsyncIterator[Payin]: ...
    def list(self, *, limit: int = 20, **filters: Any) -> Any:
        """Every matching payin, newest first, fetched `limit` per page as you iterate."""
        return self._list(limit, filters)


class Payouts(Resource[Payout, M]):
    """`/v1/payouts` (§4.6): pay money out of the merchant's balance."""

    path, model = "/v1/payouts", Payout

    @overload
    def create(
        self: Payouts[Sync], *, idempotency_key: str | None = None, **params: Unpack[PayoutParams]
    ) -> Payout: ...
    @overload
    def create(
        self: Payouts[Async], *, idempotency_key: str | None = None, **params: Unpack[PayoutParams]
    ) -> Awaitable[Payout]: ...
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Any:
        """Create a payout (funds are held at once). Retries reuse `idempotency_key`."""
        return self._create(params, idempotency_key)

    @overload
    def list(self: Payouts[Sync], *, limit: int = 20, **filters: Unpack[PayoutFilters]) -> Iterator[Payout]: ...
    @overload
    def list(self: Payouts[Async], *, limit: int = 20, **filters: Unpack[PayoutFilters]) -> AsyncIterator[Payout]: ...
    def list(self, *, limit: int = 20, **filters: Any) -> Any:
        """Every matching payout, newest first, fetched `limit` per page as you iterate."""
        return self._list(limit, filters)


class Refunds(Resource[Refund, M]):
    """`/v1/refunds` (§4.9): return a succeeded payin's money, in full or in part."""

    path, model = "/v1/refunds", Refund

    @overload
    def create(
        self: Refunds[Sync], *, idempotency_key: str | None = None, **params: Unpack[RefundParams]
    ) -> Refund: ...
    @overload
    def create(
        self: Refunds[Async], *, idempotency_key: str | None = None, **params: Unpack[RefundParams]
    ) -> Awaitable[Refund]: ...
    def create(self, *, idempotency_key: str | None = None, **params: Any) -> Any:
        """Refund a payin (`amount` defaults to what is still refundable). Retries reuse the key."""
        return self._create(params, idempotency_key)

    @overload
    def list(self: Refunds[Sync], *, limit: int = 20, **filters: Unpack[RefundFilters]) -> Iterator[Refund]: ...
    @overload
    def list(self: Refunds[Async], *, limit: int = 20, **filters: Unpack[RefundFilters]) -> AsyncIterator[Refund]: ...
    def list(self, *, limit: int = 20, **filters: Any) -> Any:
        """Every matching refund, newest first, fetched `limit` per page as you iterate."""
        return self._list(limit, filters)


class Events(Resource[Event, M]):
    """`/v1/events` (§4.7): the events sent, or to be sent, to the merchant's webhook."""

    path, model = "/v1/events", Event

    @overload
    def list(self: Events[Sync], *, limit: int = 20, **filters: Unpack[EventFilters]) -> Iterator[Event]: ...
    @overload
    def list(self: Events[Async], *, limit: int = 20, **filters: Unpack[EventFilters]) -> AsyncIterator[Event]: ...
    def list(self, *, limit: int = 20, **filters: Any) -> Any:
        """Every matching event, newest first, fetched `limit` per page as you iterate."""
        return self._list(limit, filters)


__all__ = ["Async", "Events", "Payins", "Payouts", "Refunds", "Sync"]
