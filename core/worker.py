"""The saq worker: every discovered job, cron jobs, and the context they run in.

Jobs run inside the worker role's process (and the `all` role), started from the app lifespan,
so the worker has the same health and metrics endpoints as every other role.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from saq import CronJob, Queue, Worker

from core.observability.metrics import JOB_DURATION, JOB_RUNS
from core.registry import JobSpec
from core.resources import Resources

log = structlog.get_logger("worker")
CONTEXT_KWARG = "_context"  # request_id and trace context carried from the enqueuer


class EmbeddedWorker(Worker):
    # The hosting server (Granian) owns process signals; the lifespan stops the worker.
    SIGNALS: list[Any] = []


def instrument(spec: JobSpec) -> Any:
    """Wrap a job so every run is logged with its context, timed and counted."""

    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        carried = kwargs.pop(CONTEXT_KWARG, None) or {}
        job = ctx.get("job")
        bound = {"job": spec.name, "job_id": getattr(job, "key", None), **carried}
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**bound):
            try:
                result = await spec.function(ctx, **kwargs)
            except Exception:
                JOB_RUNS.add(1, {"job": spec.name, "outcome": "failure"})
                log.exception("job failed")
                raise
            finally:
                JOB_DURATION.record(time.perf_counter() - started, {"job": spec.name})
            JOB_RUNS.add(1, {"job": spec.name, "outcome": "success"})
            return result

    run.__qualname__ = run.__name__ = spec.name
    return run


def build_worker(queue: Queue, resources: Resources, jobs: list[JobSpec]) -> Worker:
    functions = [instrument(j) for j in jobs]
    by_name = {f.__qualname__: f for f in functions}
    cron_jobs = [
        CronJob(by_name[j.name], cron=j.cron, unique=True, timeout=j.timeout, retries=j.retries) for j in jobs if j.cron
    ]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources

    return EmbeddedWorker(
        queue,
        functions=[f for f in functions if f.__qualname__ not in {c.function.__qualname__ for c in cron_jobs}],
        cron_jobs=cron_jobs,
        concurrency=resources.settings.worker_concurrency,
        startup=startup,
        shutdown_grace_period_s=5,
    )
