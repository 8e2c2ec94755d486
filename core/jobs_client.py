"""Enqueue a job from anywhere, carrying the caller's log and trace context with it."""

from __future__ import annotations

import math
from typing import Any

import structlog
from saq import Job, Queue

from core.observability.tracing import current_traceparent, remember_origin
from core.worker import CONTEXT_KWARG

# Log context keys that follow a request into the jobs it causes (the trace travels as traceparent).
_CARRIED = ("request_id", "merchant_id", "payin_id", "payout_id")
_ORIGIN_OBJECTS = ("payin_id", "payout_id")
log = structlog.get_logger("jobs")


def current_context() -> dict[str, Any]:
    """request_id, merchant/payin/payout ids and the W3C traceparent of the current span."""
    ctx = structlog.contextvars.get_contextvars()
    carried = {k: ctx[k] for k in _CARRIED if ctx.get(k)}
    traceparent = current_traceparent() or ctx.get("traceparent")
    if traceparent:
        carried["traceparent"] = traceparent
    return carried


async def _remember_origins(queue: Queue, carried: dict[str, Any]) -> None:
    # The first job a payin/payout enqueues is from its creation: that trace is its origin.
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


async def enqueue(
    queue: Queue,
    job: str,
    *,
    key: str | None = None,
    scheduled: float = 0,
    timeout: int = 60,
    retries: int = 5,
    **kwargs: Any,
) -> Job | None:
    """Enqueue `job` with `kwargs`; a `key` makes it unique (a second enqueue is a no-op)."""
    options: dict[str, Any] = {
        "timeout": timeout,
        "retries": retries,
        "retry_delay": 1.0,
        "retry_backoff": True,
    }
    if key:
        options["key"] = key
    if scheduled:
        options["scheduled"] = math.ceil(scheduled)  # never early: a job at expires_at must see it passed
    carried = current_context()
    await _remember_origins(queue, carried)
    return await queue.enqueue(job, **options, **kwargs, **{CONTEXT_KWARG: carried})
