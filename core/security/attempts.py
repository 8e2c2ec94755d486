"""Atomic attempt counting in Redis: count first, check the credential after.

Checking a counter and incrementing it after the (slow) credential check lets a concurrent
burst through: every request reads "not locked" before any failure is recorded (issue 17: 30
wrong passwords and the right one in one burst signed in). Here the attempt is counted by one
INCR before anything is checked; an attempt beyond the limit is refused without checking.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1] counter; ARGV: window seconds, limit. The window starts at the first attempt and is
# restarted when the limit is reached, so a lock lasts `window` from the attempt that set it.
_CHARGE = """
local n = redis.call('INCR', KEYS[1])
local limit = tonumber(ARGV[2])
if n == 1 or n == limit then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > limit then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return {0, ttl}
end
return {1, 0}
"""

# Never resurrect an expired counter (a DECR would create it at -1 with no expiry).
_FORGIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    retry_after: int  # seconds until the lock ends (0 when allowed)


def counter_key(kind: str, *parts: str) -> str:
    """A Redis key that does not hold the email or address it counts for."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"gw:attempts:{kind}:{digest}"


async def charge(redis: Redis, key: str, *, limit: int, window_seconds: int) -> Attempt:
    """Count one attempt; refused (with the seconds left) when it is beyond `limit` in the window."""
    allowed, ttl = await redis.eval(_CHARGE, 1, key, window_seconds, limit)  # type: ignore[misc]
    return Attempt(allowed=bool(int(allowed)), retry_after=0 if int(allowed) else max(int(ttl), 1))


async def forgive(redis: Redis, key: str) -> None:
    """An attempt that turned out legitimate stops counting against the others."""
    await redis.eval(_FORGIVE, 1, key)  # type: ignore[misc]


async def reset(redis: Redis, key: str) -> None:
    await redis.delete(key)


async def count(redis: Redis, key: str) -> int:
    return int(await redis.get(key) or 0)
