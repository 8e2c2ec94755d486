"""With two worker processes running, an every-minute cron job runs once per scheduled tick."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from jobs.record_cron_tick import TICKS_KEY


async def test_cron_job_fires_once_per_tick_with_two_workers(start_role, resources) -> None:
    workers = [start_role("worker", wait=False) for _ in range(2)]
    for worker in workers:
        worker.wait_live()
    # Only ticks scheduled after both workers are up count: each of them then schedules every tick.
    both_up = datetime.now(UTC)
    first_minute = both_up.replace(second=0, microsecond=0).timestamp() + 60
    wanted = [datetime.fromtimestamp(first_minute + 60 * i, UTC).strftime("%Y-%m-%dT%H:%MZ") for i in range(2)]
    deadline = time.monotonic() + 135
    runs: dict[str, int] = {}
    while time.monotonic() < deadline:
        raw = await resources.redis.hgetall(TICKS_KEY)
        runs = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
        if all(tick in runs for tick in wanted):
            break
        await asyncio.sleep(1)
    await asyncio.sleep(3)  # a duplicate run of the last tick would land by now
    raw = await resources.redis.hgetall(TICKS_KEY)
    runs = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
    assert {tick: runs.get(tick) for tick in wanted} == dict.fromkeys(wanted, 1), runs
    assert all(w.proc.poll() is None for w in workers), "a worker died"
