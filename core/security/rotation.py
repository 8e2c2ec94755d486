"""Re-encrypt every stored secret under the newest master key (`gateway secrets rotate`).

Row by row, each update conditional on the ciphertext it read, so the command is idempotent,
resumable after an interruption, and safe beside serving roles that create new secrets.
"""

from __future__ import annotations

from collections.abc import Callable

from core.security.crypto import Keyring
from core.storage.postgres import Handle

# (table, id column, ciphertext column): every column that holds an encrypted secret.
ENCRYPTED_COLUMNS: list[tuple[str, str, str]] = [
    ("merchants", "id", "webhook_secret_enc"),
    ("api_keys", "id", "secret_enc"),
    ("ples", "id", "credentials_enc"),
    ("audit_keys", "id", "key_enc"),
]


async def count_stale(db: Handle, ring: Keyring) -> int:
    total = 0
    for table, _, column in ENCRYPTED_COLUMNS:
        rows = await db.sql(f"SELECT count(*) AS n FROM {table} WHERE {column} NOT LIKE {{}}", f"v1:{ring.primary}:%")
        total += int(rows[0]["n"])
    return total


async def rotate_all(db: Handle, ring: Keyring, progress: Callable[[int], None] = lambda _: None) -> int:
    """Re-encrypt stale ciphertexts in batches; returns how many were rewritten."""
    done = 0
    for table, id_column, column in ENCRYPTED_COLUMNS:
        while True:
            rows = await db.sql(
                f"SELECT {id_column} AS id, {column} AS enc FROM {table} WHERE {column} NOT LIKE {{}}"
                f" ORDER BY {id_column} LIMIT 200",
                f"v1:{ring.primary}:%",
            )
            if not rows:
                break
            for row in rows:
                context = f"{table}:{row['id']}"
                fresh = ring.encrypt(ring.decrypt(row["enc"], context), context)
                await db.sql(
                    f"UPDATE {table} SET {column} = {{}} WHERE {id_column} = {{}} AND {column} = {{}}",
                    fresh,
                    row["id"],
                    row["enc"],
                )
                done += 1
                progress(1)
    return done
