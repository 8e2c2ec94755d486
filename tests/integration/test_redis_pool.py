"""A burst of Redis commands beyond redis-py's default pool (100) is served, not refused
(core/storage/redis.py `open_redis`): the default raised MaxConnectionsError, a 500 per request."""

from __future__ import annotations

import asyncio

from core.config import Settings
from core.storage.redis import open_redis


async def test_a_burst_of_three_hundred_commands_in_flight_is_served(settings: Settings) -> None:
    redis = open_redis(settings.redis_url)
    try:
        # each holds its connection 0.2 s, so all 300 are in flight at once
        results = await asyncio.wait_for(
            asyncio.gather(*(redis.blpop([f"gw:test:pool:{i}"], timeout=0.2) for i in range(300))), timeout=30
        )
        assert results == [None] * 300
    finally:
        await redis.aclose()
