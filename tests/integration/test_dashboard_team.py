"""Dashboard accounts over HTTP (frontend role, in process): argon2 hashes and the scrypt upgrade,
team roles and the permission table, invites, disabling, password reset links (issue 22)."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from core.dashboard.users import get_user
from core.storage.postgres import sql
from tests.integration.test_dashboard import PASSWORD, new_user, sign_in


def scrypt_hash(password: str) -> str:
    """The format the dashboard stored before argon2 (core/dashboard/users.py before issue 22)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


async def test_new_passwords_are_argon2id(make_merchant: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(merchant_id=merchant.merchant_id)
    rows = await sql("SELECT password_hash FROM dashboard_users WHERE email = {}", email)
    assert rows[0]["password_hash"].startswith("$argon2id$") and PASSWORD not in rows[0]["password_hash"]


async def test_a_scrypt_hash_still_signs_in_and_becomes_argon2id(app_client: Any, make_merchant: Any) -> None:
    merchant = await make_merchant()
    email = await new_user(merchant_id=merchant.merchant_id)
    legacy = scrypt_hash(PASSWORD)
    await sql("UPDATE dashboard_users SET password_hash = {} WHERE email = {}", legacy, email)
    user_id = (await sql("SELECT id FROM dashboard_users WHERE email = {}", email))[0]["id"]
    async with app_client("frontend", client_ip="10.22.1.1") as client:
        assert (await sign_in(client, email, "not the password")).status_code == 401
        assert (await get_user(user_id))["password_hash"] == legacy  # type: ignore[index]  # no upgrade on a miss
        assert (await sign_in(client, email)).status_code == 303
    upgraded = (await get_user(user_id))["password_hash"]  # type: ignore[index]
    assert upgraded.startswith("$argon2id$")
    async with app_client("frontend", client_ip="10.22.1.2") as client:
        assert (await sign_in(client, email)).status_code == 303  # the new hash verifies
