"""`Client` and `AsyncClient`: one surface, two thin drivers of the shared core (`_core.Core`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

import httpx

from gateway_client._core import Call, Core, Pager, Sleep, query
from gateway_client.models import Balance
from gateway_client.resources import Async, Events, Payins, Payouts, Refunds, Runner, Sync

T = TypeVar("T")
M = TypeVar("M")


class _BaseClient(Generic[M]):
    payins: Payins[M]
    payouts: Payouts[M]
    refunds: Refunds[M]
    events: Events[M]

    def __init__(self, core: Core, runner: Runner) -> None:
        self._core = core
        self._runner = runner
        self.payins, self.payouts = Payins(runner), Payouts(runner)
        self.refunds, self.events = Refunds(runner), Events(runner)

    @overload
    def balance(self: _BaseClient[Sync]) -> Balance: ...
    @overload
    def balance(self: _BaseClient[Async]) -> Awaitable[Balance]: ...
    def balance(self) -> Any:
        """Available and reserved money per currency (`balance["INR"].available`)."""
        return self._runner.run(Call("GET", "/v1/balance", Balance))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Any other endpoint (`/v1/ledger/entries`, `/v1/webhook-deliveries`, ...), signed and
        retried like the rest; answers the decoded JSON (a coroutine of it on `AsyncClient`)."""
        if not path.startswith("/"):
            raise ValueError("path must start with /")
        call: Call[Any] = Call(method.upper(), path, None, query(params or {}), json, idempotency_key)
        return self._runner.run(call)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._core.base_url!r}, key_id={self._core.key_id!r})"


class _SyncRunner:
    def __init__(self, core: Core, http: httpx.Client) -> None:
        self._core, self._http = core, http

    def run(self, call: Call[T]) -> T:
        steps = self._core.exchange(call)
        outcome: httpx.Response | Exception | None = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = self._http.send(step)
                except httpx.TransportError as exc:
                    outcome = exc
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def iterate(self, pager: Pager[T]) -> Iterator[T]:
        while (call := pager.next_call()) is not None:
            yield from pager.take(self.run(call))


class _AsyncRunner:
    def __init__(self, core: Core, http: httpx.AsyncClient) -> None:
        self._core, self._http = core, http

    async def run(self, call: Call[T]) -> T:
        steps = self._core.exchange(call)
        outcome: httpx.Response | Exception | None = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = await self._http.send(step)
                except httpx.TransportError as exc:
                    outcome = exc
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def iterate(self, pager: Pager[T]) -> AsyncIterator[T]:
        while (call := pager.next_call()) is not None:
            for item in pager.take(await self.run(call)):
                yield item


class Client(_BaseClient[Sync]):
    """The blocking client. Use it as a context manager, or call `close()` when done.

    `base_url` is the gateway's edge (e.g. `https://pay.example.com`); `key_id` and `secret` are
    the API key's id and secret. Each call is retried up to `max_retries` times on connection
    errors, 5xx, 429 and 409 `idempotency_key_in_use`, with backoff.
    """

    def __init__(self, base_url: str, key_id: str, secret: str, *, timeout: float = 30.0, max_retries: int = 2) -> None:
        core = Core(base_url, key_id, secret, timeout, max_retries)
        self._http = httpx.Client(follow_redirects=False)
        super().__init__(core, _SyncRunner(core, self._http))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncClient(_BaseClient[Async]):
    """The asyncio client: the same surface as `Client`, with `await` (and `async for` over
    `list()`). Use it as an async context manager, or call `aclose()` when done."""

    def __init__(self, base_url: str, key_id: str, secret: str, *, timeout: float = 30.0, max_retries: int = 2) -> None:
        core = Core(base_url, key_id, secret, timeout, max_retries)
        self._http = httpx.AsyncClient(follow_redirects=False)
        super().__init__(core, _AsyncRunner(core, self._http))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
