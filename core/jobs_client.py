"""Typed jobs: a reference names a job, the struct of its arguments, its timeout and retries.

core declares every job in core/job_refs.py; a module under jobs/ implements one (`JOB = REF`
and an async function named after the module taking `(ctx, args)`); the registry refuses at
start-up a module that does not match its reference (core/registry.py). Enqueuers pass the
arguments struct, never free-form keywords, so a typo is a type error, not a job that fails
at 3 a.m.

The caller's log and trace context travel in `job.meta` through saq's `before_enqueue` hook
(`carry_context`), and the worker restores them before the job runs (core/worker.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
import structlog
from saq import Job, Queue

from core.observability.tracing import current_traceparent, remember_origin

A = TypeVar("A", bound=msgspec.Struct)
CONTEXT_META = "context"  # key of job.meta holding request_id, ids and traceparent
# Log context keys that follow a request into the jobs it causes (the trace travels as traceparent).
_CARRIED = ("request_id", "merchant_id", "payin_id", "payout_id", "refund_id")
_ORIGIN_OBJECTS = ("payin_id", "payout_id", "refund_id")
log = structlog.get_logger("jobs")


class NoArgs(msgspec.Struct, frozen=True):
    """The arguments of a job that takes none (cron jobs)."""


@dataclass(frozen=True, slots=True)
class JobRef(Generic[A]):
    """What core knows of a job: enough to enqueue it and to check its implementation."""

    name: str
    args: type[A]
    timeout: int = 60
    retries: int = 5
    cron: str | None = None  # cron jobs run once per tick however many workers run (unique)


def current_context() -> dict[str, str]:
    """request_id, merchant/payin/payout/refund ids and the W3C traceparent of the current span."""
    ctx = structlog.contextvars.get_contextvars()
    carried = {k: str(ctx[k]) for k in _CARRIED if ctx.get(k)}
    traceparent = current_traceparent() or ctx.get("traceparent")
    if traceparent:
        carried["traceparent"] = str(traceparent)
    return carried


async def carry_context(job: Job) -> None:
    """saq `before_enqueue` hook: the enqueuer's context rides in `job.meta`."""
    if CONTEXT_META in job.meta:
        return
    carried = current_context()
    job.meta[CONTEXT_META] = carried
    await _remember_origins(job.queue, carried)


async def _remember_origins(queue: Queue | None, carried: dict[str, str]) -> None:
    # The first job a transaction enqueues is from its creation: that trace is its origin.
    traceparent = carried.get("traceparent")
    redis = getattr(queue, "redis", None)
    if not traceparent or redis is None:
        return
    for key in _ORIGIN_OBJECTS:
        if carried.get(key):
            try:
                await remember_origin(redis, carried[key], traceparent)
            except Exception as exc:  # tracing must never stop a payment
                log.warning("trace origin not stored", error=type(exc).__name__)


async def enqueue(queue: Queue, ref: JobRef[A], args: A, *, key: str | None = None, scheduled: float = 0) -> Job | None:
    """Enqueue `ref` with `args`; a `key` makes it unique while queued or running (a second
    enqueue is a no-op and returns None)."""
    if not isinstance(args, ref.args):
        raise TypeError(f"{ref.name} takes {ref.args.__name__}, not {type(args).__name__}")
    options: dict[str, Any] = {
        "timeout": ref.timeout,
        "retries": ref.retries,
        "retry_delay": 1.0,
        "retry_backoff": True,
    }
    if key:
        options["key"] = key
    if scheduled:
        options["scheduled"] = math.ceil(scheduled)  # never early: a job at expires_at must see it passed
    return await queue.enqueue(ref.name, **options, **msgspec.structs.asdict(args))
