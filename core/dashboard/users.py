"""Dashboard users: scrypt password hashes (per-user salt), merchant users and admins."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from typing import Any

from core.ids import new_id
from core.security.text import has_control_characters
from core.storage.postgres import Handle
from core.storage.tables import NOW, DashboardUser, Merchant

ROLES = ("merchant", "admin")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10


def _users() -> Any:
    """A fresh select of every column: Piccolo's where() changes the query it is called on."""
    return DashboardUser.select()


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64); the parameters travel with the hash so they can grow."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


# Verifying against this when the email is unknown keeps the answer time the same either way.
_DUMMY_HASH = hash_password("not-a-real-password")


async def create_user(
    db: Handle, email: str, password: str, role: str, merchant_id: str | None = None
) -> dict[str, Any]:
    """ValueError on bad input (role, merchant for a merchant user, short password, taken email)."""
    email = email.strip(" ").lower()
    if "@" not in email or len(email) > 254 or has_control_characters(email) or any(c.isspace() for c in email):
        raise ValueError("email must be an address")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "merchant") != bool(merchant_id):
        raise ValueError("a merchant user needs --merchant; an admin has none")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    if merchant_id and not await db.run(Merchant.exists().where(Merchant.id == merchant_id)):
        raise ValueError(f"no merchant {merchant_id}")
    if await db.run(DashboardUser.exists().where(DashboardUser.email == email)):
        raise ValueError(f"a user with email {email} exists")
    user_id = new_id("usr")
    row = DashboardUser(
        id=user_id,
        email=email,
        password_hash=hash_password(password),
        role=role,
        merchant_id=merchant_id,
        created_at=NOW,
    )
    await db.run(DashboardUser.insert(row))
    user = await get_user(db, user_id)
    assert user is not None
    return user


async def get_user(db: Handle, user_id: str) -> dict[str, Any] | None:
    return await db.run(_users().where(DashboardUser.id == user_id).first())  # type: ignore[no-any-return]


async def authenticate(db: Handle, email: str, password: str) -> dict[str, Any] | None:
    """The active user with this email and password, else None (same work either way)."""
    user = await db.run(_users().where(DashboardUser.email == email.strip().lower()).first())
    # scrypt is deliberately slow CPU work: keep it off the event loop.
    ok = await asyncio.to_thread(check_password, password, user["password_hash"] if user else _DUMMY_HASH)
    if user is None or not ok or user["disabled"]:
        return None
    return user
