"""Master-key rotation: `gateway secrets rotate`, then the old key removed, everything decrypts."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import orjson
import pytest

from core.config import DEV_MASTER_KEY
from core.security.crypto import Keyring, UnknownMasterKey, new_master_key
from core.security.rotation import ENCRYPTED_COLUMNS, context
from core.signing import sign_request
from core.storage.postgres import Handle
from tests.fixtures.merchants import new_merchant


def rotate(keys: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", "secrets", "rotate", "--json"],
        env={**os.environ, "SECRETS_MASTER_KEYS": keys},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def decrypt_everything(db: Handle, ring: Keyring) -> int:
    count = 0
    for table, column in ENCRYPTED_COLUMNS:
        for row in await db.run(table.select(table._meta.primary_key.as_alias("id"), column.as_alias("enc"))):
            ring.decrypt(row["enc"], context(table, row["id"]))
            count += 1
    return count


async def test_rotate_then_drop_the_old_key(resources, start_role) -> None:
    created = await new_merchant(resources, name="Rotating")
    new_key = new_master_key("k2")
    try:
        first = rotate(f"{new_key},{DEV_MASTER_KEY}")
        assert first.returncode == 0, first.stderr
        assert orjson.loads(first.stdout)["rewritten"] >= 2
        again = rotate(f"{new_key},{DEV_MASTER_KEY}")
        assert orjson.loads(again.stdout)["rewritten"] == 0  # idempotent

        only_new = Keyring.parse(new_key)
        assert await decrypt_everything(resources.db, only_new) >= 2
        with pytest.raises(UnknownMasterKey, match="k2"):
            await decrypt_everything(resources.db, Keyring.parse(DEV_MASTER_KEY))

        role = start_role("api", env={"SECRETS_MASTER_KEYS": new_key})
        body = b'{"message": "after rotation"}'
        headers = sign_request(created["key_id"], created["secret"], "POST", "/v1/echo", body)
        async with httpx.AsyncClient() as client:
            response = await client.post(role.url + "/v1/echo", content=body, headers=headers)
        assert response.status_code == 200, response.text

        missing = rotate(DEV_MASTER_KEY)  # a keyring without k2 cannot read the rotated rows
        assert missing.returncode != 0 and "'k2'" in missing.stderr
    finally:
        back = rotate(f"{DEV_MASTER_KEY},{new_key}")
        assert back.returncode == 0, back.stderr
    assert await decrypt_everything(resources.db, Keyring.parse(DEV_MASTER_KEY)) >= 2
