"""The audit chain's HMAC keys and head anchors, both in PostgreSQL (ARCHITECTURE §8).

Keys are held like every other secret: 256 random bits, encrypted under SECRETS_MASTER_KEYS
(AES-GCM bound to `audit_keys:<id>`, re-encrypted by `gateway secrets rotate`), never in
MongoDB beside the log. Each entry names the key id that sealed it, so `gateway audit
rotate-key` retires the active key without making old entries unverifiable.

Anchors pin the head of a chain (its `seq` and `hash`) outside MongoDB, so deleting the newest
entries, or rewriting the chain, no longer leaves a valid-looking log once the head was
anchored. A chain is named by the MongoDB database that holds it.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field

from core.ids import new_id
from core.security.crypto import keyring_for
from core.storage.postgres import Handle

ACTIVE_KEY_TTL = 60.0  # a rotation done elsewhere is picked up within a minute; old keys still verify

_spec: str | None = None
_keys: dict[str, bytes] = {}
_active: tuple[float, str] | None = None


@dataclass(frozen=True)
class AuditKey:
    id: str
    key: bytes = field(repr=False)


def use_master_keys(spec: str) -> None:
    """The keyring that decrypts audit keys (roles set it from their settings)."""
    global _spec
    _spec = spec


def _ring_spec() -> str:
    global _spec
    if _spec is None:
        from core.config import load_settings

        _spec = load_settings().secrets_master_keys
    return _spec


def _context(key_id: str) -> str:
    return f"audit_keys:{key_id}"


async def key_by_id(db: Handle, key_id: str) -> bytes | None:
    """The key that sealed entries marked `key_id`, or None when there is no such key."""
    key = _keys.get(key_id)
    if key is None:
        rows = await db.sql("SELECT id, key_enc FROM audit_keys WHERE id = {}", key_id)
        if not rows:
            return None
        plain = keyring_for(_ring_spec()).decrypt(rows[0]["key_enc"], _context(key_id))
        key = _keys[key_id] = base64.b64decode(plain)
    return key


async def _create_active(db: Handle) -> None:
    key_id = new_id("akey")
    sealed = keyring_for(_ring_spec()).encrypt(base64.b64encode(os.urandom(32)).decode(), _context(key_id))
    # The partial unique index lets exactly one active key exist: a racing creator's insert is a no-op.
    await db.sql("INSERT INTO audit_keys (id, key_enc) VALUES ({}, {}) ON CONFLICT DO NOTHING", key_id, sealed)


async def active_key(db: Handle) -> AuditKey:
    """The key new entries are sealed with; made on first use."""
    global _active
    if _active is None or time.monotonic() - _active[0] > ACTIVE_KEY_TTL:
        rows = await db.sql("SELECT id FROM audit_keys WHERE active")
        if not rows:
            await _create_active(db)
            rows = await db.sql("SELECT id FROM audit_keys WHERE active")
        _active = (time.monotonic(), rows[0]["id"])
    key_id = _active[1]
    key = await key_by_id(db, key_id)
    assert key is not None
    return AuditKey(id=key_id, key=key)


async def rotate_key(db: Handle) -> str:
    """Retire the active key and make a new one; returns the new key's id."""
    global _active
    async with db.transaction() as tx:
        await tx.sql("UPDATE audit_keys SET active = false, retired_at = now() WHERE active")
        await _create_active(tx)
    _active = None
    return (await active_key(db)).id


async def latest_anchor(db: Handle, chain: str) -> tuple[int, str] | None:
    rows = await db.sql("SELECT seq, hash FROM audit_anchors WHERE chain = {} ORDER BY seq DESC LIMIT 1", chain)
    return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else None


async def store_anchor(db: Handle, chain: str, seq: int, entry_hash: str) -> None:
    await db.sql(
        "INSERT INTO audit_anchors (chain, seq, hash) VALUES ({}, {}, {}) ON CONFLICT DO NOTHING",
        chain,
        seq,
        entry_hash,
    )
