"""Admin bearer tokens: shown once, stored as SHA-256 hashes (high-entropy, so no slow hash).

A token carries scopes (`read`, `write`, `ops`; tokens made before scopes existed keep all
three) and an optional expiry. Verified tokens are cached briefly in a bounded LRU; unknown
tokens are never cached, and every lookup that reaches PostgreSQL is counted per client
address first, so a flood of bogus tokens gets 429 instead of one query each.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from core.errors import ApiError
from core.ids import new_id
from core.security.attempts import charge, counter_key, forgive
from core.security.crypto import new_secret
from core.security.text import check_text
from core.storage.postgres import Handle
from core.storage.tables import NOW
from core.storage.tables import AdminToken as AdminTokenRow

SCOPES = ("read", "write", "ops")
CACHE_TTL = 10.0
MAX_CACHED = 1024
FAILURES_PER_ADDRESS = 20  # token lookups per client address and window that did not verify
FAILURE_WINDOW_SECONDS = 60
_DURATION = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AdminToken:
    id: str
    scopes: frozenset[str]
    expires_at: datetime | None

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @property
    def actor(self) -> str:
        return f"admin:{self.id}"


_cache: OrderedDict[str, tuple[float, AdminToken]] = OrderedDict()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `30d`; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError("expected a duration like 90s, 15m, 12h or 30d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def check_scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return tuple(s for s in SCOPES if s in scopes)


@dataclass(frozen=True)
class NewAdminToken:
    id: str
    token: str = field(repr=False)  # shown once, stored only as its hash
    scopes: tuple[str, ...]
    expires_at: datetime | None


async def create_admin_token(
    db: Handle, name: str, scopes: tuple[str, ...] | list[str] = SCOPES, expires_in: timedelta | None = None
) -> NewAdminToken:
    check_text(name, "name", 200)
    chosen = check_scopes(scopes)
    token_id, token = new_id("adm"), new_secret("gwadm")
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    row = AdminTokenRow(
        id=token_id, name=name, token_hash=_hash(token), scopes=list(chosen), expires_at=expires_at, created_at=NOW
    )
    await db.run(AdminTokenRow.insert(row))
    return NewAdminToken(id=token_id, token=token, scopes=chosen, expires_at=expires_at)


def _cached(digest: str) -> AdminToken | None:
    hit = _cache.get(digest)
    if hit is None or time.monotonic() - hit[0] > CACHE_TTL or hit[1].expired():
        _cache.pop(digest, None)
        return None
    _cache.move_to_end(digest)
    return hit[1]


def _remember(digest: str, token: AdminToken) -> None:
    _cache[digest] = (time.monotonic(), token)
    _cache.move_to_end(digest)
    while len(_cache) > MAX_CACHED:
        _cache.popitem(last=False)


def cache_size() -> int:
    return len(_cache)


def forget_all() -> None:
    _cache.clear()


async def authenticate_admin(db: Handle, authorization: str | None, *, redis: Redis, ip: str) -> AdminToken:
    """The token behind a valid `Authorization: Bearer ...`; 401 `unauthorized`, or 429
    `rate_limited` when this address sent too many tokens that did not verify."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthorized", "admin API needs Authorization: Bearer <admin token>")
    digest = _hash(token.strip())
    found = _cached(digest)
    if found is not None:
        return found
    counter = counter_key("admin_token", ip)
    attempt = await charge(redis, counter, limit=FAILURES_PER_ADDRESS, window_seconds=FAILURE_WINDOW_SECONDS)
    if not attempt.allowed:
        raise ApiError(
            "rate_limited",
            "too many admin tokens that did not verify from this address",
            headers={"Retry-After": str(attempt.retry_after)},
        )
    t = AdminTokenRow
    rows = await db.run(
        t.select(t.id, t.token_hash, t.scopes, t.expires_at).where(
            (t.token_hash == digest) & t.revoked_at.is_null() & (t.expires_at.is_null() | (t.expires_at > NOW))
        )
    )
    if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
        raise ApiError("unauthorized", "admin token is unknown, expired or revoked")
    await forgive(redis, counter)  # a token that verifies is not a failure
    row = rows[0]
    verified = AdminToken(id=row["id"], scopes=frozenset(row["scopes"]), expires_at=row["expires_at"])
    _remember(digest, verified)
    return verified


def require_scope(token: AdminToken, scope: str | None) -> None:
    """403 `insufficient_scope` unless the token holds `scope`. An admin function that declared
    no scope needs every scope: an undeclared function is never opened to a narrow token."""
    needed = {scope} if scope else set(SCOPES)
    missing = sorted(needed - token.scopes)
    if missing:
        raise ApiError("insufficient_scope", f"this admin token lacks the {', '.join(missing)} scope")
