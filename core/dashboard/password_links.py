"""One-time links that set a dashboard password: an invite (a new team member's first password)
or a reset (`gateway user reset-link`). Issue 22.

The token (`pwl_…`, 256 bits) is shown once; only its SHA-256 is stored. A link works once, until
it expires, and never for a disabled user; issuing a new link voids the user's older ones. Using
one sets the password and ends all of the user's sessions (session_epoch + 1) in one statement,
so two concurrent uses cannot both succeed.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from core.dashboard.passwords import hash_password
from core.dashboard.users import COLUMNS, check_new_password
from core.security.crypto import new_secret
from core.storage.postgres import Handle

LIFETIME = {"reset": timedelta(hours=1), "invite": timedelta(days=7)}
PATH = "/reset/"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(db: Handle, user_id: str, purpose: str) -> str:
    """A new link token for this user (older unused ones stop working)."""
    token = new_secret("pwl")
    await void(db, user_id)
    await db.sql(
        "INSERT INTO dashboard_password_links (token_hash, user_id, purpose, expires_at)"
        " VALUES ({}, {}, {}, now() + {}::interval)",
        *(_digest(token), user_id, purpose, LIFETIME[purpose]),
    )
    return token


async def void(db: Handle, user_id: str) -> None:
    """Every unused link of this user stops working."""
    await db.sql("UPDATE dashboard_password_links SET used_at = now() WHERE user_id = {} AND used_at IS NULL", user_id)


async def holder(db: Handle, token: str) -> dict[str, Any] | None:
    """The user a live link belongs to (with the link's `purpose`), else None."""
    if not token.startswith("pwl_") or len(token) > 100:
        return None
    columns = ", ".join(f"u.{c}" for c in COLUMNS.split(", "))
    rows = await db.sql(
        f"SELECT {columns}, l.purpose FROM dashboard_password_links l JOIN dashboard_users u ON u.id = l.user_id"
        " WHERE l.token_hash = {} AND l.used_at IS NULL AND l.expires_at > now() AND NOT u.disabled",
        _digest(token),
    )
    return rows[0] if rows else None


async def use(db: Handle, token: str, password: str) -> dict[str, Any] | None:
    """Set the password through a live link; None when the link is used, expired or unknown.
    ValueError for a password too short."""
    check_new_password(password)
    if await holder(db, token) is None:  # spare the hashing work for a dead link
        return None
    password_hash = await asyncio.to_thread(hash_password, password)
    rows = await db.sql(
        "WITH used AS (UPDATE dashboard_password_links SET used_at = now()"
        " WHERE token_hash = {} AND used_at IS NULL AND expires_at > now() RETURNING user_id)"
        " UPDATE dashboard_users u SET password_hash = {}, session_epoch = session_epoch + 1"
        " FROM used WHERE u.id = used.user_id AND NOT u.disabled RETURNING u.id, u.email",
        _digest(token),
        password_hash,
    )
    return rows[0] if rows else None
