"""Server-side sessions in Redis and the CSRF token each one carries.

The cookie holds only a random id; `gw:session:<id>` holds who is signed in and the CSRF token
every form posts back. A visitor who is not signed in gets an anonymous session too, so the
sign-in form is CSRF-protected like every other form. Signing in replaces the session id.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

COOKIE = "gw_session"
SESSION_TTL = 8 * 3600
ANON_TTL = 3600


@dataclass
class Session:
    id: str
    csrf: str
    user_id: str | None = None
    email: str | None = None
    role: str | None = None
    merchant_id: str | None = None
    epoch: int = 0  # the user's session_epoch at sign-in: a newer one ends this session

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
        session.epoch = user["session_epoch"]
    await redis.set(_key(session.id), orjson.dumps(asdict(session)), ex=lifetime(session))
    return session


def lifetime(session: Session) -> int:
    """Seconds the server keeps this session: what its cookie's Max-Age must say too."""
    return SESSION_TTL if session.signed_in else ANON_TTL


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
