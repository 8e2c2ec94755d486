"""Admin bearer tokens: shown once, stored as SHA-256 hashes (high-entropy, so no slow hash)."""

from __future__ import annotations

import hashlib
import hmac
import time

from core.errors import ApiError
from core.ids import new_id
from core.security.crypto import new_secret
from core.storage.postgres import sql

_CACHE_TTL = 10.0
_cache: dict[str, tuple[float, str | None]] = {}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_admin_token(name: str) -> dict[str, str]:
    token_id, token = new_id("adm"), new_secret("gwadm")
    await sql("INSERT INTO admin_tokens (id, name, token_hash) VALUES ({}, {}, {})", token_id, name, _hash(token))
    return {"id": token_id, "token": token}


async def authenticate_admin(authorization: str | None) -> str:
    """The admin token id for a valid `Authorization: Bearer ...`, else 401 `unauthorized`."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthorized", "admin API needs Authorization: Bearer <admin token>")
    digest = _hash(token.strip())
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is None or now - hit[0] > _CACHE_TTL:
        rows = await sql("SELECT id, token_hash FROM admin_tokens WHERE token_hash = {} AND revoked_at IS NULL", digest)
        token_id = rows[0]["id"] if rows and hmac.compare_digest(rows[0]["token_hash"], digest) else None
        hit = _cache[digest] = (now, token_id)
    if hit[1] is None:
        raise ApiError("unauthorized", "admin token is unknown or revoked")
    return hit[1]
