"""Merchant lifecycle: create, update, keys, webhook secret; every change audited (§8).

The admin API, the CLI and the dashboard all call these functions, so validation and audit
entries are the same whichever door a change comes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import audit
from core.errors import ApiError, not_found
from core.ids import new_id
from core.merchants import store
from core.resources import Resources
from core.security.crypto import keyring_for, new_secret
from core.security.invalidation import announce
from core.security.network import parse_whitelist
from core.security.outbound import check_webhook_url
from core.security.text import check_text
from core.storage.postgres import Handle
from core.timeutil import iso

MAX_ACTIVE_KEYS = 2  # two so a rotation has no downtime (§4.1)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit log: `admin:<token id>`, `merchant:<id>`, `cli`, `system`."""

    name: str
    ip: str | None = None


def secret_context(table: str, row_id: str) -> str:
    return f"{table}:{row_id}"


def public_merchant(row: dict[str, Any], keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "object": "merchant",
        "name": row["name"],
        "status": row["status"],
        "ip_whitelist": row["ip_whitelist"],
        "webhook_url": row["webhook_url"],
        "fee_plans": row["fee_plans"],
        "rate_limit": {"per_second": row["rate_limit_per_second"], "burst": row["rate_limit_burst"]},
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    if keys is not None:
        out["api_keys"] = [public_key(k) for k in keys]
    return out


def public_key(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "api_key",
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "revoked_at": iso(row.get("revoked_at")),
        "last_used_at": iso(row.get("last_used_at")),
    }


DIRECTION_METHODS = {"payin": ("upi", "bank_transfer", "card"), "payout": ("imps", "neft", "rtgs", "upi")}


def validate_fee_plans(plans: Any) -> dict[str, Any]:
    """`{"payin": {"upi": {"percent_bps": 150, "fixed": 0}}, "payout": {...}}`; ValueError if not."""
    if not isinstance(plans, dict):
        raise ValueError("fee_plans must be an object keyed by direction")
    out: dict[str, Any] = {}
    for direction, methods in plans.items():
        if direction not in DIRECTION_METHODS or not isinstance(methods, dict):
            raise ValueError(f"fee_plans: unknown direction {direction!r}")
        out[direction] = {}
        for method, plan in methods.items():
            if method not in DIRECTION_METHODS[direction]:
                raise ValueError(f"fee_plans.{direction}: unknown method {method!r}")
            if not isinstance(plan, dict) or set(plan) != {"percent_bps", "fixed"}:
                raise ValueError(f"fee_plans.{direction}.{method} must be {{percent_bps, fixed}}")
            bps, fixed = plan["percent_bps"], plan["fixed"]
            if type(bps) is not int or type(fixed) is not int or not 0 <= bps <= 10000 or fixed < 0:
                raise ValueError(f"fee_plans.{direction}.{method}: percent_bps 0-10000 and fixed >= 0, integers")
            out[direction][method] = {"percent_bps": bps, "fixed": fixed}
    return out


def _name(name: Any) -> str:
    return check_text(name, "name", 200)


def _whitelist(entries: list[str]) -> list[str]:
    try:
        return parse_whitelist(entries)
    except ValueError as exc:
        raise ApiError("validation_error", str(exc), param="ip_whitelist") from None


async def _webhook_url(res: Resources, url: str | None) -> str | None:
    if url is None or url == "":
        return None
    try:
        await check_webhook_url(url, allow_private=res.settings.allow_private_webhook_targets)
    except ValueError as exc:
        raise ApiError("validation_error", str(exc), param="webhook_url") from None
    return url


async def create_merchant(
    res: Resources,
    *,
    name: str,
    actor: Actor,
    ip_whitelist: list[str] | None = None,
    webhook_url: str | None = None,
    fee_plans: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a merchant with one API key; the answer holds both secrets, shown only now."""
    ring = keyring_for(res.settings.secrets_master_keys)
    merchant_id, key_id = new_id("mer"), new_id("key")
    name = _name(name)
    whitelist = _whitelist(ip_whitelist or [])
    try:
        plans = validate_fee_plans(fee_plans or {})
    except ValueError as exc:
        raise ApiError("validation_error", str(exc), param="fee_plans") from None
    url = await _webhook_url(res, webhook_url)
    secret, webhook_secret = new_secret("sk"), new_secret("whsec")
    async with res.db.transaction() as tx:
        await store.insert_merchant(
            tx,
            merchant_id,
            name,
            whitelist,
            url,
            ring.encrypt(webhook_secret, secret_context("merchants", merchant_id)),
            plans,
        )
        await store.insert_key(tx, key_id, merchant_id, ring.encrypt(secret, secret_context("api_keys", key_id)))
    await audit.record(
        res.mongo,
        res.db,
        actor=actor.name,
        action="merchant.created",
        target=merchant_id,
        ip=actor.ip,
        details={"name": name, "ip_whitelist": whitelist, "webhook_url": url, "key_id": key_id},
    )
    merchant = await store.fetch_merchant(res.db, merchant_id)
    assert merchant is not None
    return {
        "merchant": public_merchant(merchant, await store.keys_of(res.db, merchant_id)),
        "key_id": key_id,
        "secret": secret,
        "webhook_secret": webhook_secret,
    }


async def get_merchant(db: Handle, merchant_id: str) -> dict[str, Any]:
    row = await store.fetch_merchant(db, merchant_id)
    if row is None:
        raise not_found("merchant")
    return public_merchant(row, await store.keys_of(db, merchant_id))


async def list_merchants(db: Handle, limit: int, starting_after: str | None) -> tuple[list[dict[str, Any]], bool]:
    rows = await store.list_merchants(db, limit + 1, starting_after)
    return [public_merchant(r) for r in rows[:limit]], len(rows) > limit


async def update_merchant(res: Resources, merchant_id: str, changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Apply `changes` (name, status, ip_whitelist, webhook_url, fee_plans, rate_limit_*)."""
    if "name" in changes:
        changes["name"] = _name(changes["name"])
    if "ip_whitelist" in changes:
        changes["ip_whitelist"] = _whitelist(changes["ip_whitelist"])
    if "webhook_url" in changes:
        changes["webhook_url"] = await _webhook_url(res, changes["webhook_url"])
    if "fee_plans" in changes:
        try:
            changes["fee_plans"] = validate_fee_plans(changes["fee_plans"])
        except ValueError as exc:
            raise ApiError("validation_error", str(exc), param="fee_plans") from None
    async with res.db.transaction() as tx:
        before = await store.fetch_merchant(tx, merchant_id, for_update=True)
        if before is None:
            raise not_found("merchant")
        if changes:
            await store.update_merchant(tx, merchant_id, changes)
    if changes:  # status, whitelist and limits are cached by every replica's request verifier
        await announce(res.redis, "merchant", merchant_id)
    diff = {k: {"from": before.get(k), "to": v} for k, v in changes.items() if before.get(k) != v}
    if diff:
        action = "merchant.updated"
        if "status" in diff:
            action = "merchant.suspended" if changes["status"] == "suspended" else "merchant.activated"
        await audit.record(
            res.mongo, res.db, actor=actor.name, action=action, target=merchant_id, ip=actor.ip, details=diff
        )
    return await get_merchant(res.db, merchant_id)


async def create_api_key(res: Resources, merchant_id: str, actor: Actor) -> dict[str, Any]:
    ring = keyring_for(res.settings.secrets_master_keys)
    key_id, secret = new_id("key"), new_secret("sk")
    async with res.db.transaction() as tx:
        if await store.fetch_merchant(tx, merchant_id, for_update=True) is None:
            raise not_found("merchant")
        active = [k for k in await store.keys_of(tx, merchant_id) if k["status"] == "active"]
        if len(active) >= MAX_ACTIVE_KEYS:
            raise ApiError(
                "validation_error",
                f"a merchant may have at most {MAX_ACTIVE_KEYS} active keys; revoke one first",
            )
        await store.insert_key(tx, key_id, merchant_id, ring.encrypt(secret, secret_context("api_keys", key_id)))
    await audit.record(
        res.mongo,
        res.db,
        actor=actor.name,
        action="api_key.created",
        target=merchant_id,
        ip=actor.ip,
        details={"key_id": key_id},
    )
    key = next(k for k in await store.keys_of(res.db, merchant_id) if k["id"] == key_id)
    return {**public_key(key), "secret": secret}


async def revoke_api_key(res: Resources, merchant_id: str, key_id: str, actor: Actor) -> dict[str, Any]:
    if not await store.revoke_key(res.db, merchant_id, key_id):
        raise not_found("active api key")
    await announce(res.redis, "key", key_id)  # every replica drops the key now, not at its TTL
    await audit.record(
        res.mongo,
        res.db,
        actor=actor.name,
        action="api_key.revoked",
        target=merchant_id,
        ip=actor.ip,
        details={"key_id": key_id},
    )
    key = next(k for k in await store.keys_of(res.db, merchant_id) if k["id"] == key_id)
    return public_key(key)


async def rotate_webhook_secret(res: Resources, merchant_id: str, actor: Actor) -> dict[str, Any]:
    ring = keyring_for(res.settings.secrets_master_keys)
    secret = new_secret("whsec")
    async with res.db.transaction() as tx:
        if await store.fetch_merchant(tx, merchant_id, for_update=True) is None:
            raise not_found("merchant")
        await store.update_merchant(
            tx,
            merchant_id,
            {"webhook_secret_enc": ring.encrypt(secret, secret_context("merchants", merchant_id))},
        )
    await audit.record(
        res.mongo, res.db, actor=actor.name, action="webhook_secret.rotated", target=merchant_id, ip=actor.ip
    )
    return {"merchant_id": merchant_id, "webhook_secret": secret}


async def webhook_secret_of(res: Resources, merchant_id: str) -> str:
    row = await store.fetch_merchant(res.db, merchant_id)
    if row is None:
        raise not_found("merchant")
    ring = keyring_for(res.settings.secrets_master_keys)
    return ring.decrypt(row["webhook_secret_enc"], secret_context("merchants", merchant_id))
