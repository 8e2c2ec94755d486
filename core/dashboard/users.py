"""Dashboard users: merchant users and admins; argon2id password hashes (core.dashboard.passwords)."""

from __future__ import annotations

import asyncio
from typing import Any

from core.dashboard.passwords import DUMMY_HASH, check_password, hash_password, needs_rehash
from core.ids import new_id
from core.security.text import has_control_characters
from core.storage.postgres import sql

ROLES = ("merchant", "admin")
MIN_PASSWORD = 10
COLUMNS = "id, email, password_hash, role, merchant_id, disabled, created_at"


async def create_user(email: str, password: str, role: str, merchant_id: str | None = None) -> dict[str, Any]:
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
    if merchant_id and not await sql("SELECT id FROM merchants WHERE id = {}", merchant_id):
        raise ValueError(f"no merchant {merchant_id}")
    if await sql("SELECT id FROM dashboard_users WHERE email = {}", email):
        raise ValueError(f"a user with email {email} exists")
    user_id = new_id("usr")
    password_hash = await asyncio.to_thread(hash_password, password)
    await sql(
        "INSERT INTO dashboard_users (id, email, password_hash, role, merchant_id) VALUES ({}, {}, {}, {}, {})",
        user_id,
        email,
        password_hash,
        role,
        merchant_id,
    )
    user = await get_user(user_id)
    assert user is not None
    return user


async def get_user(user_id: str) -> dict[str, Any] | None:
    rows = await sql(f"SELECT {COLUMNS} FROM dashboard_users WHERE id = {{}}", user_id)
    return rows[0] if rows else None


async def authenticate(email: str, password: str) -> dict[str, Any] | None:
    """The active user with this email and password, else None (same work either way)."""
    rows = await sql(f"SELECT {COLUMNS} FROM dashboard_users WHERE email = {{}}", email.strip().lower())
    user = rows[0] if rows else None
    # Password hashing is deliberately slow CPU work: keep it off the event loop.
    ok = await asyncio.to_thread(check_password, password, user["password_hash"] if user else DUMMY_HASH)
    if user is None or not ok or user["disabled"]:
        return None
    if needs_rehash(user["password_hash"]):  # a scrypt hash becomes argon2id now that we know the password
        await set_password_hash(user["id"], await asyncio.to_thread(hash_password, password))
    return user


async def set_password_hash(user_id: str, password_hash: str) -> None:
    await sql("UPDATE dashboard_users SET password_hash = {} WHERE id = {}", password_hash, user_id)
