"""Typed jobs: a reference names a job, the struct of its arguments, its timeout and retries.

core declares every job in core/job_refs.py; a module under jobs/ implements one (`JOB = REF`
and an async function named after the module taking `(ctx, args)`); the registry refuses at
start-up a module that does not match its reference (core/registry.py). Enqueuers pass the
arguments struct, never free-form keywords, so a typo is a type error, not a job that fails
at 3 a.m.

A reference also names the saq queue its jobs go to (`queue`, default the main one):
`enqueue` routes there whichever of the process's queues it is handed, so no enqueuer chooses.

The caller's log and trace context travel in `job.meta` through saq's `before_enqueue` hook
(`carry_context`), and the worker restores them before the job runs (core/worker.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
import structlog
from opentelemetry import trace
from saq import Job, Queue

from core.observability.tracing import current_traceparent, remember_origin
from core.storage.redis import QUEUE_NAME

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
    queue: str = QUEUE_NAME  # the saq queue (core/storage/redis.py) whose worker runs it


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
    # Links only matter between recorded spans: with nothing exported, no Redis write (issue 19).
    if not traceparent or redis is None or not trace.get_current_span().is_recording():
        return
    for key in _ORIGIN_OBJECTS:
        if carried.get(key):
            try:
                await remember_origin(redis, carried[key], traceparent)
            except Exception as exc:  # tracing must never stop a payment
                log.warning("trace origin not stored", error=type(exc).__name__)


def queue_for(queue: Queue, ref: JobRef[Any]) -> Queue:
    """The queue `ref`'s jobs go to, found from any queue of the process (`siblings`)."""
    if queue.name == ref.queue:
        return queue
    target = getattr(queue, "siblings", {}).get(ref.queue)
    if target is None:  # a job put where no worker serves it would wait forever: refuse instead
        raise LookupError(f"{ref.name} goes to queue {ref.queue!r}, unknown to queue {queue.name!r}")
    return target  # type: ignore[no-any-return]


async def enqueue(queue: Queue, ref: JobRef[A], args: A, *, key: str | None = None, scheduled: float = 0) -> Job | None:
    """Enqueue `ref` with `args` on the queue `ref` names (`queue` is any queue of the process);
    a `key` makes it unique in that queue while queued or running (a second enqueue is a no-op
    and returns None)."""
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
    return await queue_for(queue, ref).enqueue(ref.name, **options, **msgspec.structs.asdict(args))
