"""Cron, daily at 00:15 UTC: one `settle_provider_fees` per active PLE for the previous UTC day.

Each is enqueued under the key `settle:<ple>:<date>`, so the runs of several workers (or a retry
of this job) queue it once; a settlement that ran already is skipped by its unique row anyway."""

from __future__ import annotations

from typing import Any

from core.job_refs import ENQUEUE_DAILY_SETTLEMENTS, SETTLE_PROVIDER_FEES, SettleArgs
from core.jobs_client import NoArgs, enqueue
from core.routing import active_ples
from core.settlement import previous_utc_day

JOB = ENQUEUE_DAILY_SETTLEMENTS


async def enqueue_daily_settlements(ctx: dict[str, Any], args: NoArgs) -> dict[str, Any]:
    day = previous_utc_day().isoformat()
    queue = ctx["resources"].queue
    queued = []
    for ple in await active_ples(ctx["resources"].db):
        settle = SettleArgs(ple_id=ple["id"], date=day)
        job = await enqueue(queue, SETTLE_PROVIDER_FEES, settle, key=f"settle:{ple['id']}:{day}")
        if job is not None:
            queued.append(ple["id"])
    return {"date": day, "queued": queued}
