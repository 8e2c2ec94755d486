"""SQL for merchants and keys; the only module that writes these tables."""

from __future__ import annotations

from typing import Any

import orjson

from core.storage.postgres import Handle

MERCHANT_COLUMNS = (
    "id, name, status, ip_whitelist, webhook_url, webhook_secret_enc, fee_plans,"
    " rate_limit_per_second, rate_limit_burst, created_at, updated_at"
)


def _merchant(row: dict[str, Any]) -> dict[str, Any]:
    plans = row["fee_plans"]
    row["fee_plans"] = orjson.loads(plans) if isinstance(plans, str | bytes) else (plans or {})
    row["ip_whitelist"] = list(row["ip_whitelist"] or [])
    return row


async def insert_merchant(
    db: Handle,
    merchant_id: str,
    name: str,
    whitelist: list[str],
    webhook_url: str | None,
    secret_enc: str,
    plans: dict[str, Any],
) -> None:
    await db.sql(
        "INSERT INTO merchants (id, name, ip_whitelist, webhook_url, webhook_secret_enc, fee_plans)"
        " VALUES ({}, {}, {}, {}, {}, {}::jsonb)",
        merchant_id,
        name,
        whitelist,
        webhook_url,
        secret_enc,
        orjson.dumps(plans).decode(),
    )


async def fetch_merchant(db: Handle, merchant_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    rows = await db.sql(f"SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = {{}}{lock}", merchant_id)
    return _merchant(rows[0]) if rows else None


async def list_merchants(db: Handle, limit: int, starting_after: str | None) -> list[dict[str, Any]]:
    if starting_after:
        rows = await db.sql(
            f"SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id < {{}} ORDER BY id DESC LIMIT {{}}",
            starting_after,
            limit,
        )
    else:
        rows = await db.sql(f"SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id DESC LIMIT {{}}", limit)
    return [_merchant(r) for r in rows]


UPDATABLE = {
    "name": "{}",
    "status": "{}",
    "ip_whitelist": "{}",
    "webhook_url": "{}",
    "fee_plans": "{}::jsonb",
    "webhook_secret_enc": "{}",
    "rate_limit_per_second": "{}",
    "rate_limit_burst": "{}",
}


async def update_merchant(db: Handle, merchant_id: str, changes: dict[str, Any]) -> None:
    sets, args = [], []
    for column, value in changes.items():
        sets.append(f"{column} = {UPDATABLE[column]}")
        args.append(orjson.dumps(value).decode() if column == "fee_plans" else value)
    await db.sql(f"UPDATE merchants SET {', '.join(sets)}, updated_at = now() WHERE id = {{}}", *args, merchant_id)


async def insert_key(db: Handle, key_id: str, merchant_id: str, secret_enc: str) -> None:
    await db.sql(
        "INSERT INTO api_keys (id, merchant_id, secret_enc) VALUES ({}, {}, {})",
        key_id,
        merchant_id,
        secret_enc,
    )


async def keys_of(db: Handle, merchant_id: str) -> list[dict[str, Any]]:
    return await db.sql(
        "SELECT id, status, created_at, revoked_at, last_used_at FROM api_keys WHERE merchant_id = {} ORDER BY id DESC",
        merchant_id,
    )


async def revoke_key(db: Handle, merchant_id: str, key_id: str) -> bool:
    rows = await db.sql(
        "UPDATE api_keys SET status = 'revoked', revoked_at = now()"
        " WHERE id = {} AND merchant_id = {} AND status = 'active' RETURNING id",
        key_id,
        merchant_id,
    )
    return bool(rows)


async def key_for_auth(db: Handle, key_id: str) -> dict[str, Any] | None:
    """Everything request verification needs about a key, in one round trip."""
    rows = await db.sql(
        "SELECT k.id, k.merchant_id, k.secret_enc, k.status AS key_status, m.status AS merchant_status,"
        " m.ip_whitelist, m.rate_limit_per_second, m.rate_limit_burst"
        " FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.id = {}",
        key_id,
    )
    return rows[0] if rows else None


async def newest_active_key(db: Handle, merchant_id: str) -> dict[str, Any] | None:
    rows = await db.sql(
        "SELECT id, secret_enc FROM api_keys WHERE merchant_id = {} AND status = 'active' ORDER BY id DESC LIMIT 1",
        merchant_id,
    )
    return rows[0] if rows else None


async def touch_key(db: Handle, key_id: str) -> None:
    await db.sql("UPDATE api_keys SET last_used_at = now() WHERE id = {}", key_id)
