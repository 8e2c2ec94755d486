"""Re-encrypt every stored secret under the newest master key (`gateway secrets rotate`).

Row by row, each update conditional on the ciphertext it read, so the command is idempotent,
resumable after an interruption, and safe beside serving roles that create new secrets.
"""

from __future__ import annotations

from collections.abc import Callable

from piccolo.columns import Column
from piccolo.table import Table

from core.security.crypto import Keyring
from core.storage.postgres import Handle
from core.storage.tables import ApiKey, AuditKey, Merchant, Ple

# (table, ciphertext column): every column that holds an encrypted secret, bound to `table:<id>`.
ENCRYPTED_COLUMNS: list[tuple[type[Table], Column]] = [
    (Merchant, Merchant.webhook_secret_enc),
    (ApiKey, ApiKey.secret_enc),
    (Ple, Ple.credentials_enc),
    (AuditKey, AuditKey.key_enc),
]


def context(table: type[Table], row_id: str) -> str:
    """What a secret of this row is bound to (AES-GCM associated data)."""
    return f"{table._meta.tablename}:{row_id}"


async def count_stale(db: Handle, ring: Keyring) -> int:
    total = 0
    for table, column in ENCRYPTED_COLUMNS:
        total += await db.run(table.count().where(column.not_like(f"v1:{ring.primary}:%")))
    return total


async def rotate_all(db: Handle, ring: Keyring, progress: Callable[[int], None] = lambda _: None) -> int:
    """Re-encrypt stale ciphertexts in batches; returns how many were rewritten."""
    done = 0
    for table, column in ENCRYPTED_COLUMNS:
        key = table._meta.primary_key
        while True:
            rows = await db.run(
                table.select(key.as_alias("id"), column.as_alias("enc"))
                .where(column.not_like(f"v1:{ring.primary}:%"))
                .order_by(key)
                .limit(200)
            )
            if not rows:
                break
            for row in rows:
                bound = context(table, row["id"])
                fresh = ring.encrypt(ring.decrypt(row["enc"], bound), bound)
                await db.run(table.update({column: fresh}).where((key == row["id"]) & (column == row["enc"])))
                done += 1
                progress(1)
    return done
