"""What request verification knows about an API key, cached in process memory briefly.

The TTL bounds how long a revoked key or a suspended merchant keeps working on a replica
(§4.1 and issue 3: within 30 s everywhere). Decrypted secrets live only here, never in Redis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.merchants import store
from core.security.crypto import Keyring
from core.security.network import Network, networks

CACHE_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    merchant_id: str
    secret: str = field(repr=False)
    key_active: bool
    merchant_active: bool
    whitelist: tuple[Network, ...]
    rate_per_second: int | None
    rate_burst: int | None


class KeyCache:
    def __init__(self, ttl: float = CACHE_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, KeyEntry | None]] = {}

    async def get(self, key_id: str, ring: Keyring) -> KeyEntry | None:
        now = time.monotonic()
        hit = self._entries.get(key_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        row = await store.key_for_auth(key_id)
        entry = None
        if row is not None:
            entry = KeyEntry(
                key_id=row["id"],
                merchant_id=row["merchant_id"],
                secret=ring.decrypt(row["secret_enc"], f"api_keys:{row['id']}"),
                key_active=row["key_status"] == "active",
                merchant_active=row["merchant_status"] == "active",
                whitelist=networks(row["ip_whitelist"] or []),
                rate_per_second=row["rate_limit_per_second"],
                rate_burst=row["rate_limit_burst"],
            )
        if len(self._entries) > 10_000:  # unknown key ids must not grow memory without bound
            self._entries.clear()
        self._entries[key_id] = (now, entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()
