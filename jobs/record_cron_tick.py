"""Cron, every minute: the cron heartbeat. Counts each run under the minute it was scheduled for
in the Redis hash `gw:cron:ticks` (kept two days), so an alert or a test can see that cron jobs
fire, and fire once per tick however many workers run (docs/settlement.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.job_refs import RECORD_CRON_TICK
from core.jobs_client import NoArgs

TICKS_KEY = "gw:cron:ticks"


JOB = RECORD_CRON_TICK


async def record_cron_tick(ctx: dict[str, Any], args: NoArgs) -> dict[str, Any]:
    job = ctx.get("job")
    scheduled = getattr(job, "scheduled", 0) or datetime.now(UTC).timestamp()
    minute = datetime.fromtimestamp(scheduled, UTC).strftime("%Y-%m-%dT%H:%MZ")
    redis = ctx["resources"].redis
    runs = await redis.hincrby(TICKS_KEY, minute, 1)
    await redis.expire(TICKS_KEY, 2 * 86400)
    return {"tick": minute, "runs": runs}
