"""Sign-in lockout: per (email, client address), counted before the password is checked.

Any sign-in (the dashboard's hand-written form today, Litestar's session middleware after
issue 22) calls `begin` first and `succeeded` after a right password. The sixth attempt within
15 minutes is refused without checking the password, for 15 minutes from the fifth; a success
clears the count. Because the count comes first, a concurrent burst cannot slip the right
password in among wrong ones before any failure is recorded.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core.security.attempts import Attempt, charge, count, counter_key, reset

ATTEMPTS_BEFORE_LOCK = 5
LOCK_SECONDS = 15 * 60


def _key(email: str, ip: str) -> str:
    return counter_key("signin", email.strip().lower(), ip)


async def begin(redis: Redis, email: str, ip: str) -> Attempt:
    """Count this attempt; `allowed` False means answer 429 without looking at the password."""
    return await charge(redis, _key(email, ip), limit=ATTEMPTS_BEFORE_LOCK, window_seconds=LOCK_SECONDS)


async def succeeded(redis: Redis, email: str, ip: str) -> None:
    await reset(redis, _key(email, ip))


async def attempts_counted(redis: Redis, email: str, ip: str) -> int:
    """Attempts counted in the current window (operators and tests)."""
    return await count(redis, _key(email, ip))
