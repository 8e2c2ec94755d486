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


# Connections per process, made only as needed. redis-py 8's default pool has 100 and raises
# MaxConnectionsError at once when all are busy: a burst of more than 100 requests in flight on one
# role answered 500 (seen in `just bench`, echo at 2,000/s, issue 19). Its BlockingConnectionPool
# was tried instead and hung a test run (an in-process app's shutdown, not root-caused): a larger
# pool it is; Redis allows 10,000 clients.
REDIS_POOL_SIZE = 1000


def open_redis(url: str, *, max_connections: int = REDIS_POOL_SIZE) -> Redis:
    return Redis.from_url(
        url, decode_responses=False, socket_connect_timeout=3, socket_timeout=5, max_connections=max_connections
    )


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
