"""Server-side sessions in Redis, the CSRF token each one carries, and sign-in throttling.

The cookie holds only a random id; `gw:session:<id>` holds who is signed in and the CSRF token
every form posts back. A visitor who is not signed in gets an anonymous session too, so the
sign-in form is CSRF-protected like every other form. Signing in replaces the session id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

COOKIE = "gw_session"
SESSION_TTL = 8 * 3600
ANON_TTL = 3600
FAILURES_BEFORE_LOCK = 5
LOCK_SECONDS = 15 * 60


@dataclass
class Session:
    id: str
    csrf: str
    user_id: str | None = None
    email: str | None = None
    role: str | None = None
    merchant_id: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


def _key(session_id: str) -> str:
    return f"gw:session:{session_id}"


async def new_session(redis: Redis, user: dict[str, Any] | None = None) -> Session:
    session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
    if user is not None:
        session.user_id, session.email = user["id"], user["email"]
        session.role, session.merchant_id = user["role"], user["merchant_id"]
    ttl = SESSION_TTL if user is not None else ANON_TTL
    await redis.set(_key(session.id), orjson.dumps(asdict(session)), ex=ttl)
    return session


async def load_session(redis: Redis, session_id: str | None) -> Session | None:
    if not session_id or len(session_id) > 100:
        return None
    raw = await redis.get(_key(session_id))
    if raw is None:
        return None
    session = Session(**orjson.loads(raw))
    if session.signed_in:  # sliding expiry while the person is active
        await redis.expire(_key(session_id), SESSION_TTL)
    return session


async def end_session(redis: Redis, session_id: str) -> None:
    await redis.delete(_key(session_id))


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return bool(session and token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())  # type: ignore[union-attr]


def _throttle_key(email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"gw:signin_failures:{digest}"


async def locked_for(redis: Redis, email: str, ip: str) -> int:
    """Seconds this email+IP is still locked out (0 when it may try)."""
    key = _throttle_key(email, ip)
    failures = int(await redis.get(key) or 0)
    if failures < FAILURES_BEFORE_LOCK:
        return 0
    return max(int(await redis.ttl(key)), 1)


async def record_failure(redis: Redis, email: str, ip: str) -> int:
    """Count one failed sign-in; the window (and the lock) lasts LOCK_SECONDS from the first."""
    key = _throttle_key(email, ip)
    failures = int(await redis.incr(key))
    if failures == 1 or failures == FAILURES_BEFORE_LOCK:
        await redis.expire(key, LOCK_SECONDS)
    return failures


async def clear_failures(redis: Redis, email: str, ip: str) -> None:
    await redis.delete(_throttle_key(email, ip))
