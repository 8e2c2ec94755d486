"""Cron, every minute: queue depth and oldest queued job age, for the backlog alerts (the worker
also refreshes them every few seconds; this keeps them fresh on a worker that is busy)."""

from __future__ import annotations

from typing import Any

from core.worker import measure_queue as measure

CRON = "* * * * *"


async def measure_queue(ctx: dict[str, Any]) -> dict[str, float]:
    return await measure(ctx["resources"].queue)
