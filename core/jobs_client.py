"""Enqueue a job from anywhere, carrying the caller's log and trace context with it."""

from __future__ import annotations

import math
from typing import Any

import structlog
from saq import Job, Queue

from core.worker import CONTEXT_KWARG

# Context keys that follow a request into the jobs it causes.
_CARRIED = ("request_id", "merchant_id", "payin_id", "payout_id", "trace_id", "traceparent")


def current_context() -> dict[str, Any]:
    ctx = structlog.contextvars.get_contextvars()
    return {k: ctx[k] for k in _CARRIED if ctx.get(k)}


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
    return await queue.enqueue(job, **options, **kwargs, **{CONTEXT_KWARG: current_context()})
