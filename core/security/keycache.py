"""What request verification knows about an API key, cached in process memory briefly.

A revoked key or a suspended merchant must stop working on every replica within 2 s (§4.1):
each change is broadcast (core/security/invalidation.py) and drops the entries it concerns at
once; the TTL only bounds the damage when a broadcast is lost. Decrypted secrets live only
here, never in Redis. The cache is an LRU of bounded size, so unknown key ids cannot grow it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from core.merchants import store
from core.security.crypto import Keyring
from core.security.network import Network, networks
from core.storage.postgres import Handle

CACHE_TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000


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
    def __init__(self, db: Handle, ttl: float = CACHE_TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.db = db
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, KeyEntry | None]] = OrderedDict()
        # Bumped by every invalidation: a load that started before one must not store what it
        # read (it may predate the change the invalidation announced).
        self._generation = 0

    async def get(self, key_id: str, ring: Keyring) -> KeyEntry | None:
        now = time.monotonic()
        hit = self._entries.get(key_id)
        if hit is not None and now - hit[0] < self.ttl:
            self._entries.move_to_end(key_id)
            return hit[1]
        generation = self._generation
        row = await store.key_for_auth(self.db, key_id)
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
        if generation == self._generation:
            self._entries[key_id] = (now, entry)
            self._entries.move_to_end(key_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def drop_key(self, key_id: str) -> None:
        self._generation += 1
        self._entries.pop(key_id, None)

    def drop_merchant(self, merchant_id: str) -> None:
        self._generation += 1
        for key_id in [k for k, (_, e) in self._entries.items() if e is not None and e.merchant_id == merchant_id]:
            del self._entries[key_id]

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
