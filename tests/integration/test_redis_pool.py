"""More Redis commands in flight than the pool has connections wait for one, never fail
(core/storage/redis.py `open_redis`): redis-py's default pool raised at once, a 500 per request."""

from __future__ import annotations

import asyncio

from core.config import Settings
from core.storage.redis import open_redis


async def test_callers_beyond_the_pool_wait_for_a_connection(settings: Settings) -> None:
    redis = open_redis(settings.redis_url, max_connections=4)
    try:
        # each holds its connection 0.1 s: 20 of them need 5 rounds of the 4 connections
        results = await asyncio.wait_for(
            asyncio.gather(*(redis.blpop([f"gw:test:pool:{i}"], timeout=0.1) for i in range(20))), timeout=10
        )
        assert results == [None] * 20
        pool = redis.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 4  # never more than its size
    finally:
        await redis.aclose()
