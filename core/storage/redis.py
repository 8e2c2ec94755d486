"""The Redis client (replay cache, idempotency records, rate limits) and the saq queues."""

from __future__ import annotations

from collections.abc import Mapping

from redis import asyncio as aioredis
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

QUEUE_NAME = "gateway"  # every job whose reference names no other queue
# Webhook deliveries have a queue of their own, served by their own saq worker: saq takes one
# queue's jobs in order, so in the shared queue they waited behind any callback backlog.
WEBHOOK_QUEUE_NAME = "gateway-webhooks"
QUEUE_NAMES = (QUEUE_NAME, WEBHOOK_QUEUE_NAME)
SWEEP_ABORT_WAIT_SECONDS = 0.2


REDIS_POOL_SIZE = 100  # connections per process (redis-py's default size)
REDIS_POOL_WAIT_SECONDS = 5.0  # a request waits this long for a free one, as long as a command may take


def open_redis(url: str, *, max_connections: int = REDIS_POOL_SIZE) -> Redis:
    """A client whose pool makes a caller wait for a free connection when all are busy. redis-py's
    default pool raises `MaxConnectionsError` at once instead: a burst of more than 100 requests
    in flight on one role answered 500 (seen in `just bench`, echo at 2,000/s, issue 19)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=REDIS_POOL_WAIT_SECONDS,
        decode_responses=False,
        socket_connect_timeout=3,
        socket_timeout=5,
    )
    return Redis.from_pool(pool)  # closing the client closes its pool


class GatewayQueue(RedisQueue):
    """saq's Redis queue, sweeping stuck jobs without waiting on dead workers, and knowing the
    other queues of its process (`siblings`), so an enqueue through any of them can reach the
    queue a job's reference names (core/jobs_client.py).

    saq's sweep waits 5 s for each stuck job's worker to acknowledge the abort; a SIGKILLed worker
    never does, so 20 jobs of one dead worker took minutes to recover (and stuck cron jobs blocked
    their next ticks meanwhile). Wait briefly instead: the job is retried either way.
    """

    siblings: Mapping[str, GatewayQueue] = {}

    async def sweep(self, lock: int = 60, abort: float = SWEEP_ABORT_WAIT_SECONDS) -> list[str]:
        return await super().sweep(lock, abort)


def open_queue(url: str, name: str = QUEUE_NAME) -> GatewayQueue:
    return GatewayQueue(aioredis.from_url(url), name=name)


def open_queues(url: str) -> dict[str, GatewayQueue]:
    """Every queue by name, each knowing the others. Each has its own Redis pool: saq blocks one
    connection per waiting worker task in BLMOVE and closes its client on disconnect."""
    queues = {name: open_queue(url, name) for name in QUEUE_NAMES}
    for queue in queues.values():
        queue.siblings = queues
    return queues
