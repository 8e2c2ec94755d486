"""The Redis client (replay cache, idempotency records, rate limits) and the saq queue."""

from __future__ import annotations

from redis.asyncio import Redis
from saq import Queue

QUEUE_NAME = "gateway"


def open_redis(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=False, socket_connect_timeout=3, socket_timeout=5)


def open_queue(url: str) -> Queue:
    return Queue.from_url(url, name=QUEUE_NAME)
