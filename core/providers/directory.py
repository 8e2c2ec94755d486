"""The PLEs a process talks to, with their secrets decrypted once.

A PLE row is read from PostgreSQL where a request needs it (a route, a callback, a poll) and
its secret is decrypted only the first time that ciphertext is seen: an updated secret is a new
ciphertext, so rotation needs no invalidation. Lookups by id and by provider are kept for
`ROW_TTL_SECONDS`, enough to spare the callbacks and polls of a busy minute a query each while
a deactivation or a rotation reaches every process within seconds.
"""

from __future__ import annotations

import time
from typing import Any

from core.providers.base import PleConfig
from core.security.crypto import keyring_for
from core.storage.postgres import Database
from core.storage.tables import Ple

ROW_TTL_SECONDS = 5.0
PLE_COLUMNS = "id, provider, currency, base_url, credentials_enc, active"  # also joined raw (core/payments/context.py)


def _ples() -> Any:
    """A fresh select of PLE_COLUMNS (Piccolo's where() changes the query it is called on)."""
    return Ple.select(*(Ple._meta.get_column_by_name(c.strip()) for c in PLE_COLUMNS.split(",")))


class UnknownPle(LookupError):
    def __init__(self, ple_id: str) -> None:
        self.ple_id = ple_id
        super().__init__(f"no PLE {ple_id!r}")


class PleDirectory:
    def __init__(self, secrets_spec: str, db: Database) -> None:
        self._db = db
        self._ring = keyring_for(secrets_spec)
        self._secrets: dict[str, str] = {}  # ciphertext -> secret
        self._by_id: dict[str, tuple[float, PleConfig]] = {}
        self._by_provider: dict[str, tuple[float, list[PleConfig]]] = {}

    def config(self, row: dict[str, Any]) -> PleConfig:
        """A PleConfig from a row holding PLE_COLUMNS (a join may hold them under these names)."""
        sealed = str(row["credentials_enc"])
        secret = self._secrets.get(sealed)
        if secret is None:
            secret = self._ring.decrypt(sealed, f"ples:{row['id']}")
            if len(self._secrets) > 1_000:  # PLEs are few; rotations must not grow this forever
                self._secrets.clear()
            self._secrets[sealed] = secret
        return PleConfig(
            ple_id=row["id"],
            provider=row["provider"],
            base_url=row["base_url"],
            secret=secret,
            currency=row["currency"].strip(),
        )

    async def get(self, ple_id: str) -> PleConfig:
        """The PLE by id, active or not (a deactivated PLE's transactions still settle)."""
        hit = self._by_id.get(ple_id)
        if hit is not None and time.monotonic() - hit[0] < ROW_TTL_SECONDS:
            return hit[1]
        row = await self._db.run(_ples().where(Ple.id == ple_id).first())
        if row is None:
            raise UnknownPle(ple_id)
        config = self.config(row)
        self._by_id[ple_id] = (time.monotonic(), config)
        return config

    async def of_provider(self, provider: str, *, fresh: bool = False) -> list[PleConfig]:
        """Every PLE of `provider`, active or not: a callback about money that moved through a
        PLE deactivated since must still verify. `fresh` skips the cache (a callback that matched
        no cached PLE may be from one created or rotated a moment ago)."""
        hit = self._by_provider.get(provider)
        if not fresh and hit is not None and time.monotonic() - hit[0] < ROW_TTL_SECONDS:
            return hit[1]
        rows = await self._db.run(_ples().where(Ple.provider == provider).order_by(Ple.id))
        configs = [self.config(r) for r in rows]
        self._by_provider[provider] = (time.monotonic(), configs)
        return configs

    def forget(self) -> None:
        """Drop the cached rows (tests that change PLEs directly; an operator's rotation waits the TTL)."""
        self._by_id.clear()
        self._by_provider.clear()
