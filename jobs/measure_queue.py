"""Cron, every minute: queue depth and oldest queued job age, for the backlog alerts (the worker
also refreshes them every few seconds; this keeps them fresh on a worker that is busy)."""

from __future__ import annotations

from typing import Any

from core.job_refs import MEASURE_QUEUE
from core.jobs_client import NoArgs
from core.worker import measure_queue as measure

JOB = MEASURE_QUEUE


async def measure_queue(ctx: dict[str, Any], args: NoArgs) -> dict[str, float]:
    return await measure(ctx["resources"].queue)
