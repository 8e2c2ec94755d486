"""Cron, every minute: queue depth and oldest queued job age of every queue, for the backlog
alerts (the worker also refreshes them every few seconds; this keeps them fresh on a worker that
is busy). Returns the totals: jobs queued in all queues, the oldest age of any."""

from __future__ import annotations

from typing import Any

from core.job_refs import MEASURE_QUEUE
from core.jobs_client import NoArgs
from core.worker import measure_queues

JOB = MEASURE_QUEUE


async def measure_queue(ctx: dict[str, Any], args: NoArgs) -> dict[str, float]:
    measured = (await measure_queues(ctx["resources"].queues)).values()
    return {
        "queued": sum(m["queued"] for m in measured),
        "oldest_age_seconds": max((m["oldest_age_seconds"] for m in measured), default=0.0),
    }
