"""The connections a role holds for its lifetime, opened in the app lifespan and closed after.

Functions receive them through Litestar dependency injection (`resources`), jobs through
`ctx["resources"]`, the CLI through `open_resources()`: one object, one place that opens and
closes, so a test or a command sees exactly what a serving role sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.asyncio import Redis
from saq import Queue

from core.config import Settings
from core.jobs_client import carry_context
from core.providers.directory import PleDirectory
from core.storage.mongo import Mongo
from core.storage.postgres import Database
from core.storage.redis import QUEUE_NAME, open_queues, open_redis

log = structlog.get_logger("resources")


@dataclass
class Resources:
    settings: Settings
    db: Database
    mongo: Mongo
    redis: Redis
    queue: Queue  # the main queue; `enqueue` through it reaches any queue a job's reference names
    ples: PleDirectory
    queues: dict[str, Queue] = field(default_factory=dict)  # every queue by name, the main one too
    extras: dict[str, Any] = field(default_factory=dict)

    async def check(self) -> dict[str, str]:
        """Readiness: each dependency answers within 2 s. Value 'ok' or the failure's class."""

        async def probe(name: str, call: Any) -> tuple[str, str]:
            try:
                await asyncio.wait_for(call(), timeout=2)
                return name, "ok"
            except Exception as exc:  # any failure means not ready, named
                log.warning("dependency check failed", dependency=name, error=repr(exc)[:300])
                return name, f"unavailable ({type(exc).__name__})"

        results = await asyncio.gather(
            probe("postgres", self.db.ping),
            probe("mongo", self.mongo.ping),
            probe("redis", self.redis.ping),
        )
        return dict(results)


@asynccontextmanager
async def open_resources(settings: Settings, *, pool_size: int = 10) -> AsyncIterator[Resources]:
    db = Database(settings.database_url)  # this role's engine and pool: nothing process-global
    await db.open(max_size=pool_size)
    mongo = Mongo(settings.mongo_url, settings.mongo_database)
    redis = open_redis(settings.redis_url)
    queues: dict[str, Queue] = dict(open_queues(settings.redis_url))
    for queue in queues.values():
        queue.register_before_enqueue(carry_context)
        await queue.connect()
    ples = PleDirectory(settings.secrets_master_keys, db)
    resources = Resources(
        settings=settings, db=db, mongo=mongo, redis=redis, queue=queues[QUEUE_NAME], ples=ples, queues=queues
    )
    try:
        yield resources
    finally:
        for queue in queues.values():
            await queue.disconnect()
        await redis.aclose()
        await mongo.close()
        await db.close()
