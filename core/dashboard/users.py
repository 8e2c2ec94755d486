"""Dashboard users: merchant users (each with a team role) and platform admins; argon2id password
hashes (core.dashboard.passwords). An invited user has no password until it uses its link.

Raw SQL on the caller's handle: the team columns (team_role, session_epoch) and the
`ON CONFLICT … RETURNING` insert read plainer as SQL than through the query builder."""

from __future__ import annotations

import asyncio
from typing import Any

from core.dashboard.passwords import check_password, dummy_hash, hash_password, needs_rehash
from core.dashboard.permissions import TEAM_ROLES
from core.ids import new_id
from core.security.text import has_control_characters
from core.storage.postgres import Handle

ROLES = ("merchant", "admin")
MIN_PASSWORD = 10
COLUMNS = "id, email, password_hash, role, team_role, merchant_id, disabled, session_epoch, theme, created_at"
THEMES = ("auto", "light", "dark")


def normal_email(email: str) -> str:
    """The stored form of an address; ValueError when it is not one."""
    email = email.strip(" ").lower()
    if "@" not in email or len(email) > 254 or has_control_characters(email) or any(c.isspace() for c in email):
        raise ValueError("email must be an address")
    return email


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")


async def create_user(
    db: Handle,
    email: str,
    password: str | None,
    role: str,
    merchant_id: str | None = None,
    team_role: str | None = None,
) -> dict[str, Any]:
    """ValueError on bad input (role, merchant for a merchant user, short password, taken email).

    A merchant user is its team's `owner` unless `team_role` says otherwise; `password=None` makes
    an invited user who cannot sign in until a password link sets one."""
    email = normal_email(email)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "merchant") != bool(merchant_id):
        raise ValueError("a merchant user needs --merchant; an admin has none")
    if role == "merchant":
        team_role = team_role or "owner"
        if team_role not in TEAM_ROLES:
            raise ValueError(f"team role must be one of {', '.join(TEAM_ROLES)}")
    elif team_role is not None:
        raise ValueError("an admin has no team role")
    if password is not None:
        check_new_password(password)
    if merchant_id and not await db.sql("SELECT id FROM merchants WHERE id = {}", merchant_id):
        raise ValueError(f"no merchant {merchant_id}")
    user_id = new_id("usr")
    password_hash = await asyncio.to_thread(hash_password, password) if password is not None else None
    inserted = await db.sql(
        "INSERT INTO dashboard_users (id, email, password_hash, role, team_role, merchant_id)"
        " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (email) DO NOTHING RETURNING id",
        *(user_id, email, password_hash, role, team_role, merchant_id),
    )
    if not inserted:  # also under a race: the unique email decides, never a 500
        raise ValueError(f"a user with email {email} exists")
    user = await get_user(db, user_id)
    assert user is not None
    return user


async def get_user(db: Handle, user_id: str) -> dict[str, Any] | None:
    rows = await db.sql(f"SELECT {COLUMNS} FROM dashboard_users WHERE id = {{}}", user_id)
    return rows[0] if rows else None


async def user_by_email(db: Handle, email: str) -> dict[str, Any] | None:
    rows = await db.sql(f"SELECT {COLUMNS} FROM dashboard_users WHERE email = {{}}", email.strip().lower())
    return rows[0] if rows else None


async def authenticate(db: Handle, email: str, password: str) -> dict[str, Any] | None:
    """The active user with this email and password, else None (same work either way)."""
    user = await user_by_email(db, email)
    stored = user["password_hash"] if user and user["password_hash"] else dummy_hash()
    # Password hashing is deliberately slow CPU work: keep it off the event loop.
    ok = await asyncio.to_thread(check_password, password, stored)
    if user is None or not user["password_hash"] or not ok or user["disabled"]:
        return None
    if needs_rehash(stored):  # a scrypt hash becomes argon2id now that we know the password
        await db.sql(
            "UPDATE dashboard_users SET password_hash = {} WHERE id = {}",
            await asyncio.to_thread(hash_password, password),
            user["id"],
        )
    return user


async def set_theme(db: Handle, user_id: str, theme: str) -> None:
    """The user's colour theme (auto follows the browser); ValueError for another value."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}")
    await db.sql("UPDATE dashboard_users SET theme = {} WHERE id = {}", theme, user_id)
