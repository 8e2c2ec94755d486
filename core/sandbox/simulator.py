"""In-memory state and timed behaviour of the sandbox PSP, following §5's outcome table.

Every object lives in one process's memory (Granian runs one worker), so counters are exact.
Timers are asyncio tasks; callbacks of one object are delivered strictly in the order emitted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from core.sandbox.options import SandboxOptions
from core.sandbox.signing import SIGNATURE_HEADER, sign_body

log = logging.getLogger("core.sandbox")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


@dataclass(slots=True)
class CallbackRecord:
    event_id: str
    status: str
    attempts: int = 0
    outcome: str = "pending"  # pending | delivered | failed | dropped


@dataclass(slots=True)
class Payin:
    payin_id: str
    amount: int
    currency: str
    method: str
    expires_at: datetime
    provider_reference: str
    payment_url: str
    instructions: dict[str, Any] | None
    status: str = "created"  # created | paid | failed
    submissions: int = 1
    settled_at: datetime | None = None  # when it was paid: the day of its statement line
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    delivery: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "payin_id": self.payin_id,
            "provider_reference": self.provider_reference,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "payment_url": self.payment_url,
            "instructions": self.instructions,
            "expires_at": _iso(self.expires_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(slots=True)
class Payout:
    payout_id: str
    amount: int
    currency: str
    mode: str
    submissions: int = 0
    provider_reference: str | None = None  # None until a payout is actually created
    status: str | None = None  # accepted | completed | failed | reversed | rejected
    failure_code: str | None = None
    settled_at: datetime | None = None  # when it completed: the day of its statement line
    updated_at: datetime = field(default_factory=_now)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    delivery: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "payout_id": self.payout_id,
            "provider_reference": self.provider_reference,
            "status": self.status,
            "failure_code": self.failure_code,
            "amount": self.amount,
            "currency": self.currency,
            "mode": self.mode,
            "updated_at": _iso(self.updated_at),
        }


@dataclass(slots=True)
class Refund:
    refund_id: str
    payin_id: str
    amount: int
    currency: str
    submissions: int = 0
    provider_reference: str | None = None  # None until a refund is actually made
    status: str | None = None  # accepted | completed | failed | rejected
    failure_code: str | None = None
    settled_at: datetime | None = None  # when it completed: the day of its statement line
    updated_at: datetime = field(default_factory=_now)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    delivery: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "refund_id": self.refund_id,
            "payin_id": self.payin_id,
            "provider_reference": self.provider_reference,
            "status": self.status,
            "failure_code": self.failure_code,
            "amount": self.amount,
            "currency": self.currency,
            "updated_at": _iso(self.updated_at),
        }


def counters(obj: Payin | Payout | Refund, kind: str) -> dict[str, Any]:
    """The /__sandbox/... answer: how many submissions arrived and how many objects they made."""
    created = 1 if obj.provider_reference else 0
    return {
        "submissions": obj.submissions,
        f"{kind}s_created": created,
        "provider_reference": obj.provider_reference,
        "status": obj.status,
        "callbacks": [
            {"event_id": c.event_id, "status": c.status, "attempts": c.attempts} | {"outcome": c.outcome}
            for c in obj.callbacks
        ],
    }


LATE_MARGIN_SECONDS = 3.0


class Simulator:
    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.payins: dict[str, Payin] = {}
        self.payouts: dict[str, Payout] = {}
        self.refunds: dict[str, Refund] = {}
        self.stats: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client: httpx.AsyncClient | None = None
        # Objects whose callbacks are dropped from now on (`POST /__sandbox/faults`
        # {"drop_callbacks_of": [id, ...]}): a lost callback, deterministically, for tests.
        self.drop_callbacks_of: set[str] = set()

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        # Keep a reference: the event loop only holds weak references to tasks.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- payins -------------------------------------------------------------------------------

    def create_payin(self, payin: Payin) -> None:
        self.payins[payin.payin_id] = payin
        self._spawn(self._payin_lifecycle(payin))

    async def _payin_lifecycle(self, payin: Payin) -> None:
        outcome = payin.amount % 100
        delay = self.options.delay_seconds
        if outcome == 52:  # never paid: the gateway expires it
            return
        if outcome == 53:  # paid only after its expiry (with a margin, so the gateway has expired it)
            delay += max(0.0, (payin.expires_at - _now()).total_seconds()) + LATE_MARGIN_SECONDS
        await asyncio.sleep(delay)
        payin.status = "failed" if outcome == 51 else "paid"
        payin.updated_at = _now()
        payin.settled_at = payin.updated_at if payin.status == "paid" else None
        if outcome == 55:  # paid, but only a status query shows it
            return
        self._emit(payin, "payin", payin.status, copies=2 if outcome == 54 else 1)
        if outcome == 56:  # a stale `failed` after the `paid` one; the status stays paid
            self._emit(payin, "payin", "failed")

    # ---- payouts ------------------------------------------------------------------------------

    def submit_payout(self, payout: Payout) -> None:
        """Create the provider-side payout (the caller has checked idempotency and outcome)."""
        payout.provider_reference = f"sbx_po_{secrets.token_hex(8)}"
        outcome = payout.amount % 100
        if outcome == 52:  # rejected at submission: a synchronous failure, nothing created
            payout.provider_reference = None
            payout.status, payout.failure_code = "rejected", "beneficiary_rejected"
            return
        payout.status = "accepted"
        payout.updated_at = _now()
        if outcome != 53:  # 53 stays accepted (processing) forever
            self._spawn(self._payout_lifecycle(payout, outcome))

    async def _payout_lifecycle(self, payout: Payout, outcome: int) -> None:
        await asyncio.sleep(self.options.delay_seconds)
        if outcome == 51:
            payout.status, payout.failure_code = "failed", "bank_declined"
        else:
            payout.status = "completed"
        payout.updated_at = _now()
        payout.settled_at = payout.updated_at if payout.status == "completed" else None
        if outcome != 55:  # 55: no callback, only polling finds it
            self._emit(payout, "payout", payout.status)
        if outcome == 54:  # the bank returns it after a second delay
            await asyncio.sleep(self.options.delay_seconds)
            payout.status, payout.failure_code = "reversed", "returned_by_bank"
            payout.updated_at = _now()
            self._emit(payout, "payout", "reversed")

    # ---- refunds ------------------------------------------------------------------------------

    def refundable(self, payin_id: str) -> int | None:
        """What is left to refund of a paid payin (None: unknown or not paid)."""
        payin = self.payins.get(payin_id)
        if payin is None or payin.status != "paid":
            return None
        taken = sum(
            r.amount for r in self.refunds.values() if r.payin_id == payin_id and r.status in ("accepted", "completed")
        )
        return payin.amount - taken

    def submit_refund(self, refund: Refund) -> None:
        """Make the provider-side refund (the caller checked idempotency and what is refundable).
        Outcomes follow the payout column by the refund's own amount % 100; 54 behaves as 00."""
        outcome = refund.amount % 100
        if outcome == 52:  # rejected at submission: nothing made
            refund.status, refund.failure_code = "rejected", "refund_rejected"
            return
        refund.provider_reference = f"sbx_rf_{secrets.token_hex(8)}"
        refund.status = "accepted"
        refund.updated_at = _now()
        if outcome != 53:  # 53 stays accepted (processing) forever
            self._spawn(self._refund_lifecycle(refund, outcome))

    async def _refund_lifecycle(self, refund: Refund, outcome: int) -> None:
        await asyncio.sleep(self.options.delay_seconds)
        if outcome == 51:
            refund.status, refund.failure_code = "failed", "refund_declined"
        else:
            refund.status = "completed"
        refund.updated_at = _now()
        refund.settled_at = refund.updated_at if refund.status == "completed" else None
        if outcome != 55:  # 55: no callback, only polling finds it
            self._emit(refund, "refund", refund.status)

    # ---- callbacks ----------------------------------------------------------------------------

    def _emit(self, obj: Payin | Payout | Refund, kind: str, status: str, copies: int = 1) -> None:
        object_id = {Payin: "payin_id", Payout: "payout_id", Refund: "refund_id"}[type(obj)]
        object_id = getattr(obj, object_id)
        body = {
            "event_id": f"evt_sbx_{secrets.token_hex(10)}",
            "event_type": f"{kind}.{status}",
            "object": kind,
            "object_id": object_id,
            "provider_reference": obj.provider_reference,
            "status": status,
            "amount": obj.amount,
            "currency": obj.currency,
            "failure_code": getattr(obj, "failure_code", None) if status != "paid" else None,
            "occurred_at": _iso(_now()),
        }
        raw = orjson.dumps(body)
        dropped = object_id in self.drop_callbacks_of or random.random() < self.options.drop_callback_rate
        for _ in range(copies):  # 54: the same event (same id) delivered twice
            record = CallbackRecord(event_id=body["event_id"], status=status)
            obj.callbacks.append(record)
            if dropped:
                record.outcome = "dropped"
                continue
            # Chain on the previous delivery so one object's callbacks arrive in emission order.
            obj.delivery = self._spawn(self._deliver_after(obj.delivery, record, raw))

    async def _deliver_after(self, previous: asyncio.Task[None] | None, record: CallbackRecord, raw: bytes) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(self.options.secret, raw),
            "X-Sandbox-Event-Id": record.event_id,
        }
        assert self._client is not None
        for attempt in range(self.options.callback_attempts):
            if attempt:
                await asyncio.sleep(self.options.callback_retry_base_seconds * 2 ** (attempt - 1))
            record.attempts += 1
            try:
                response = await self._client.post(self.options.callback_url, content=raw, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("callback %s attempt %d: %s", record.event_id, attempt + 1, exc)
                continue
            if 200 <= response.status_code < 300:
                record.outcome = "delivered"
                self.count("callbacks_delivered")
                return
            log.warning(
                "callback %s attempt %d: HTTP %d",
                record.event_id,
                attempt + 1,
                response.status_code,
            )
        record.outcome = "failed"
        self.count("callbacks_failed")
