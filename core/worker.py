"""The saq workers: every discovered job, cron jobs, and the context they run in.

Jobs run inside the worker role's process (and the `all` role), started from the app lifespan,
so the worker has the same health and metrics endpoints as every other role.

One saq worker per queue (core/storage/redis.py), each with its own concurrency: saq takes a
queue's jobs in order, so webhook deliveries have their own queue and worker and never wait
behind a callback backlog. A job runs on the worker of the queue its reference names; the main
worker also knows every other job, so one enqueued on the main queue before its reference moved
to another queue (an upgrade with jobs still queued) still runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import msgspec
import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from saq import CronJob, Queue, Worker

from core.background import run_every, stop_tasks
from core.jobs_client import CONTEXT_META
from core.observability.metrics import JOB_DURATION, JOB_RUNS, QUEUE_DEPTH, QUEUE_OLDEST_AGE
from core.observability.tracing import context_from_traceparent, link_to, origin_of
from core.registry import JobSpec
from core.resources import Resources
from core.storage.redis import QUEUE_NAME, WEBHOOK_QUEUE_NAME

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
        attributes: dict[str, Any] = {"gateway.job": spec.name, "messaging.system": "saq"}
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


async def measure_queues(queues: dict[str, Queue]) -> dict[str, dict[str, float]]:
    """The gauges of every queue, by queue name."""
    return {name: await measure_queue(queue) for name, queue in queues.items()}


async def _keep_queue_gauges_fresh(queues: dict[str, Queue]) -> None:
    # The worker's /metrics is at most a few seconds stale, not a cron minute.
    await run_every(QUEUE_GAUGE_INTERVAL_SECONDS, lambda: measure_queues(queues), "queue gauges not refreshed")


class Workers:
    """The saq workers of one process, one per queue, started and stopped together (the app
    lifespan holds this as it held one saq worker: `start()` runs until stopped, `stop()`)."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self.workers = list(workers)

    def __getitem__(self, queue_name: str) -> Worker:
        return next(w for w in self.workers if w.queue.name == queue_name)

    async def start(self) -> None:
        await asyncio.gather(*(w.start() for w in self.workers))

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))


def concurrency_of(resources: Resources) -> dict[str, int]:
    """Jobs each queue's worker runs at once (WORKER_CONCURRENCY, WEBHOOK_CONCURRENCY)."""
    settings = resources.settings
    return {QUEUE_NAME: settings.worker_concurrency, WEBHOOK_QUEUE_NAME: settings.webhook_concurrency}


def build_worker(queue: Queue, resources: Resources, jobs: list[JobSpec]) -> Workers:
    """A saq worker for `queue` (the main one) and one for each other queue of `resources`."""
    queues = {name: q for name, q in resources.queues.items() if name != queue.name}
    queues = {queue.name: queue, **queues}
    functions = {j.name: instrument(j) for j in jobs}
    concurrency = concurrency_of(resources)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources

    async def startup_main(ctx: dict[str, Any]) -> None:
        await startup(ctx)
        gauges = asyncio.create_task(_keep_queue_gauges_fresh(queues), name="queue-gauges")
        ctx["queue_gauges"] = gauges

    async def shutdown(ctx: dict[str, Any]) -> None:
        task = ctx.pop("queue_gauges", None)
        if task is not None:
            await stop_tasks(task)

    workers = []
    for name, q in queues.items():
        main = name == queue.name
        own = [j for j in jobs if j.ref.queue == name]
        cron_jobs = [
            CronJob(functions[j.name], cron=j.cron, unique=True, timeout=j.ref.timeout, retries=j.ref.retries)
            for j in own
            if j.cron
        ]
        # The main worker runs every job besides its own: one left on it by an older release
        # (before its reference named another queue) must not wait forever.
        names = set(functions) if main else {j.name for j in own}
        runs = [functions[n] for n in sorted(names - {j.name for j in own if j.cron})]
        workers.append(
            EmbeddedWorker(
                q,
                functions=runs,
                cron_jobs=cron_jobs,
                concurrency=concurrency.get(name, resources.settings.worker_concurrency),
                startup=startup_main if main else startup,
                shutdown=shutdown,
                shutdown_grace_period_s=5,
            )
        )
    return Workers(workers)
