"""Merchants and their API keys, through Piccolo's query builder on an explicit handle; the only
module that writes these tables (core/storage/tables.py)."""

from __future__ import annotations

from typing import Any

import orjson

from core.storage.postgres import Handle
from core.storage.tables import NOW, ApiKey, Merchant


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
    row = Merchant(
        id=merchant_id,
        name=name,
        ip_whitelist=whitelist,
        webhook_url=webhook_url,
        webhook_secret_enc=secret_enc,
        fee_plans=plans,
        created_at=NOW,
        updated_at=NOW,
    )
    await db.run(Merchant.insert(row))


async def fetch_merchant(db: Handle, merchant_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = Merchant.select().where(Merchant.id == merchant_id)
    row = await db.run((query.lock_rows() if for_update else query).first())
    return _merchant(row) if row else None


async def list_merchants(db: Handle, limit: int, starting_after: str | None) -> list[dict[str, Any]]:
    query = Merchant.select().order_by(Merchant.id, ascending=False).limit(limit)
    if starting_after:
        query = query.where(Merchant.id < starting_after)
    return [_merchant(r) for r in await db.run(query)]


UPDATABLE = {
    "name",
    "status",
    "ip_whitelist",
    "webhook_url",
    "fee_plans",
    "webhook_secret_enc",
    "rate_limit_per_second",
    "rate_limit_burst",
}


async def update_merchant(db: Handle, merchant_id: str, changes: dict[str, Any]) -> None:
    values: dict[Any, Any] = {Merchant._meta.get_column_by_name(c): v for c, v in changes.items() if c in UPDATABLE}
    if len(values) != len(changes):
        raise ValueError(f"not updatable: {sorted(set(changes) - UPDATABLE)}")
    await db.run(Merchant.update({**values, Merchant.updated_at: NOW}).where(Merchant.id == merchant_id))


async def insert_key(db: Handle, key_id: str, merchant_id: str, secret_enc: str) -> None:
    await db.run(ApiKey.insert(ApiKey(id=key_id, merchant_id=merchant_id, secret_enc=secret_enc, created_at=NOW)))


async def keys_of(db: Handle, merchant_id: str) -> list[dict[str, Any]]:
    query = ApiKey.select(ApiKey.id, ApiKey.status, ApiKey.created_at, ApiKey.revoked_at, ApiKey.last_used_at)
    return await db.run(query.where(ApiKey.merchant_id == merchant_id).order_by(ApiKey.id, ascending=False))


async def revoke_key(db: Handle, merchant_id: str, key_id: str) -> bool:
    revoked = await db.run(
        ApiKey.update({ApiKey.status: "revoked", ApiKey.revoked_at: NOW})
        .where((ApiKey.id == key_id) & (ApiKey.merchant_id == merchant_id) & (ApiKey.status == "active"))
        .returning(ApiKey.id)
    )
    return bool(revoked)


async def key_for_auth(db: Handle, key_id: str) -> dict[str, Any] | None:
    """Everything request verification needs about a key, in one round trip (a join)."""
    owner = ApiKey.merchant_id
    query = ApiKey.select(
        ApiKey.id,
        ApiKey.merchant_id,
        ApiKey.secret_enc,
        ApiKey.status.as_alias("key_status"),
        owner.status.as_alias("merchant_status"),  # type: ignore[attr-defined]
        owner.ip_whitelist.as_alias("ip_whitelist"),  # type: ignore[attr-defined]
        owner.rate_limit_per_second.as_alias("rate_limit_per_second"),  # type: ignore[attr-defined]
        owner.rate_limit_burst.as_alias("rate_limit_burst"),  # type: ignore[attr-defined]
    )
    return await db.run(query.where(ApiKey.id == key_id).first())


async def newest_active_key(db: Handle, merchant_id: str) -> dict[str, Any] | None:
    query = ApiKey.select(ApiKey.id, ApiKey.secret_enc).where(
        (ApiKey.merchant_id == merchant_id) & (ApiKey.status == "active")
    )
    return await db.run(query.order_by(ApiKey.id, ascending=False).first())


async def touch_key(db: Handle, key_id: str) -> None:
    await db.run(ApiKey.update({ApiKey.last_used_at: NOW}).where(ApiKey.id == key_id))
