"""Revocations reach every replica at once: a Redis pub/sub broadcast that drops cache entries.

Whoever commits a change that must stop a credential (a key revoked, a merchant suspended or
its whitelist changed, an admin token revoked) publishes `kind:id` on one channel after the
commit; every serving process listens and drops what it cached about that id. A listener that
lost its connection may have missed messages, so it clears its caches when it subscribes again;
the caches' short TTL covers the moments in between.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.background import raise_if_cancelled

CHANNEL = "gw:security:invalidate"
Kind = Literal["key", "merchant", "admin_token"]
Handler = Callable[[str, str], None]  # (kind, id)

log = structlog.get_logger("security")


async def announce(redis: Redis, kind: Kind, ident: str) -> None:
    """Broadcast after the change committed; a failure leaves the TTL as the fallback."""
    try:
        await redis.publish(CHANNEL, f"{kind}:{ident}".encode())
    except (RedisError, OSError) as exc:
        log.warning("revocation broadcast failed; caches expire by TTL", kind=kind, error=type(exc).__name__)


async def listen(redis: Redis, handler: Handler, on_resubscribe: Callable[[], None]) -> None:
    """Run until cancelled: apply every broadcast to `handler`; reconnect with backoff."""
    delay = 0.2
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            raise_if_cancelled()  # redis-py may swallow it (core/background.py)
            on_resubscribe()  # whatever was broadcast while not subscribed is unknown: forget all
            delay = 0.2
            while True:
                message = await pubsub.get_message(timeout=1.0)
                raise_if_cancelled()
                if message is None or message.get("type") != "message":
                    continue
                kind, _, ident = bytes(message["data"]).decode("utf-8", "replace").partition(":")
                if ident:
                    handler(kind, ident)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("revocation listener lost Redis; retrying", error=type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
