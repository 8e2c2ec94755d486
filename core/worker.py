"""The saq worker: every discovered job, cron jobs, and the context they run in.

Jobs run inside the worker role's process (and the `all` role), started from the app lifespan,
so the worker has the same health and metrics endpoints as every other role.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import msgspec
import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from saq import CronJob, Queue, Worker

from core.jobs_client import CONTEXT_META
from core.observability.metrics import JOB_DURATION, JOB_RUNS, QUEUE_DEPTH, QUEUE_OLDEST_AGE
from core.observability.tracing import context_from_traceparent, link_to, origin_of
from core.registry import JobSpec
from core.resources import Resources

log = structlog.get_logger("worker")
_tracer = trace.get_tracer("gateway.jobs")
QUEUE_GAUGE_INTERVAL_SECONDS = 5.0
_ORIGIN_OBJECTS = ("payin_id", "payout_id", "refund_id")


class EmbeddedWorker(Worker):
    # The hosting server (Granian) owns process signals; the lifespan stops the worker.
    SIGNALS: list[Any] = []


async def _link_to_origin(ctx: dict[str, Any], span: trace.Span, carried: dict[str, Any]) -> None:
    """A job that learnt its payin/payout while running (a provider callback) links to its creation."""
    bound = structlog.contextvars.get_contextvars()
    resources = ctx.get("resources")
    for key in _ORIGIN_OBJECTS:
        object_id = bound.get(key)
        if not object_id or carried.get(key) or resources is None or not span.is_recording():
            continue
        try:
            link = link_to(await origin_of(resources.redis, object_id))
        except Exception as exc:  # tracing never fails a job
            log.warning("trace origin not read", error=type(exc).__name__)
            return
        if link is not None and link.context.trace_id != span.get_span_context().trace_id:
            span.add_link(link.context, {"gateway.link": "origin", "gateway.object": key})


def instrument(spec: JobSpec) -> Any:
    """Wrap a job so its keyword arguments arrive as its typed arguments struct, and every run is
    traced (child of the enqueuer's span, from `job.meta`), logged with its context, timed and
    counted."""

    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx.get("job")
        carried = dict((getattr(job, "meta", None) or {}).get(CONTEXT_META) or {})
        parent = context_from_traceparent(carried.pop("traceparent", None))
        args = msgspec.convert(kwargs, spec.ref.args)  # ValidationError: the job fails, named
        bound = {"job": spec.name, "job_id": getattr(job, "key", None), **carried}
        attributes = {"gateway.job": spec.name, "messaging.system": "saq"}
        if job is not None:
            attributes["gateway.job.attempt"] = int(getattr(job, "attempts", 0) or 0)
        started = time.perf_counter()
        # Exceptions are not recorded on the span: their text may hold what logs redact.
        with (
            structlog.contextvars.bound_contextvars(**bound),
            _tracer.start_as_current_span(
                f"job {spec.name}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            try:
                result = await spec.function(ctx, args)
            except Exception as exc:
                elapsed = time.perf_counter() - started
                JOB_RUNS.add(1, {"job": spec.name, "outcome": "failure"})
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                span.set_attribute("error.type", type(exc).__name__)
                log.exception("job failed", duration_ms=round(elapsed * 1000, 2))
                raise
            finally:
                JOB_DURATION.record(time.perf_counter() - started, {"job": spec.name})
                await _link_to_origin(ctx, span, carried)
            JOB_RUNS.add(1, {"job": spec.name, "outcome": "success"})
            log.info("job done", duration_ms=round((time.perf_counter() - started) * 1000, 2))
            return result

    run.__qualname__ = run.__name__ = spec.name
    return run


async def measure_queue(queue: Queue) -> dict[str, float]:
    """Set the queue gauges: jobs queued and the age of the oldest one due to run."""
    info = await queue.info(jobs=True, limit=50)
    queued = int(info.get("queued", 0))
    now_ms = time.time() * 1000
    waiting = [j for j in info.get("jobs", []) if j.get("status") == "queued"]
    oldest = max((now_ms - float(j.get("queued") or now_ms)) / 1000 for j in waiting) if waiting else 0.0
    QUEUE_DEPTH.set(queued, {"queue": queue.name})
    QUEUE_OLDEST_AGE.set(max(oldest, 0.0), {"queue": queue.name})
    return {"queued": queued, "oldest_age_seconds": round(oldest, 3)}


async def _keep_queue_gauges_fresh(queue: Queue) -> None:
    # The worker's /metrics is at most a few seconds stale, not a cron minute.
    while True:
        try:
            await measure_queue(queue)
        except Exception as exc:
            log.warning("queue gauges not refreshed", error=type(exc).__name__)
        await asyncio.sleep(QUEUE_GAUGE_INTERVAL_SECONDS)


def build_worker(queue: Queue, resources: Resources, jobs: list[JobSpec]) -> Worker:
    functions = [instrument(j) for j in jobs]
    by_name = {f.__qualname__: f for f in functions}
    cron_jobs = [
        CronJob(by_name[j.name], cron=j.cron, unique=True, timeout=j.ref.timeout, retries=j.ref.retries)
        for j in jobs
        if j.cron
    ]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources
        ctx["queue_gauges"] = asyncio.create_task(_keep_queue_gauges_fresh(queue), name="queue-gauges")

    async def shutdown(ctx: dict[str, Any]) -> None:
        task = ctx.pop("queue_gauges", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return EmbeddedWorker(
        queue,
        functions=[f for f in functions if f.__qualname__ not in {c.function.__qualname__ for c in cron_jobs}],
        cron_jobs=cron_jobs,
        concurrency=resources.settings.worker_concurrency,
        startup=startup,
        shutdown=shutdown,
        shutdown_grace_period_s=5,
    )
