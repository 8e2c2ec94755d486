"""Cron, every minute: queue depth and oldest queued job age, for the backlog alerts."""

from __future__ import annotations

import time
from typing import Any

from core.observability.metrics import QUEUE_DEPTH, QUEUE_OLDEST_AGE

CRON = "* * * * *"


async def measure_queue(ctx: dict[str, Any]) -> dict[str, float]:
    queue = ctx["resources"].queue
    info = await queue.info(jobs=True, limit=50)
    queued = int(info.get("queued", 0))
    now_ms = time.time() * 1000
    waiting = [j for j in info.get("jobs", []) if j.get("status") == "queued"]
    oldest = max((now_ms - float(j.get("queued") or now_ms)) / 1000 for j in waiting) if waiting else 0.0
    QUEUE_DEPTH.set(queued, {"queue": queue.name})
    QUEUE_OLDEST_AGE.set(oldest, {"queue": queue.name})
    return {"queued": queued, "oldest_age_seconds": round(oldest, 3)}
