"""The Redis client (replay cache, idempotency records, rate limits) and the saq queue."""

from __future__ import annotations

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

QUEUE_NAME = "gateway"
SWEEP_ABORT_WAIT_SECONDS = 0.2


def open_redis(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=False, socket_connect_timeout=3, socket_timeout=5)


class GatewayQueue(RedisQueue):
    """saq's Redis queue, sweeping stuck jobs without waiting on dead workers.

    saq's sweep waits 5 s for each stuck job's worker to acknowledge the abort; a SIGKILLed worker
    never does, so 20 jobs of one dead worker took minutes to recover (and stuck cron jobs blocked
    their next ticks meanwhile). Wait briefly instead: the job is retried either way.
    """

    async def sweep(self, lock: int = 60, abort: float = SWEEP_ABORT_WAIT_SECONDS) -> list[str]:
        return await super().sweep(lock, abort)


def open_queue(url: str) -> GatewayQueue:
    return GatewayQueue.from_url(url, name=QUEUE_NAME)
