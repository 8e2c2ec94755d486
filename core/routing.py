"""Provider legal entities (PLEs) and the routing of merchants to them (§5).

A merchant is routed per direction and method to one PLE; a request with no route is 422
`no_route`. PLE credentials are stored only encrypted.
"""

from __future__ import annotations

from typing import Any

import orjson

from core import audit
from core.errors import ApiError, not_found
from core.ids import new_id
from core.merchants.service import DIRECTION_METHODS, validate_fee_plans
from core.providers.base import PleConfig
from core.providers.registry import ADAPTERS
from core.resources import Resources
from core.security.crypto import keyring_for
from core.security.dev_secrets import check_ple_changes, check_provider_secret, new_provider_secret
from core.security.text import check_text, check_url_text
from core.storage.postgres import Handle
from core.storage.tables import NOW, Merchant, MerchantRoute, Ple
from core.timeutil import iso


def _row(row: dict[str, Any]) -> dict[str, Any]:
    schedule = row["fee_schedule"]
    row["fee_schedule"] = orjson.loads(schedule) if isinstance(schedule, str | bytes) else (schedule or {})
    return row


def public_ple(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "ple",
        "provider": row["provider"],
        "name": row["name"],
        "currency": row["currency"],
        "base_url": row["base_url"],
        "fee_schedule": row["fee_schedule"],
        "active": row["active"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _check(provider: str, currency: str, fee_schedule: dict[str, Any]) -> dict[str, Any]:
    if provider not in ADAPTERS:
        raise ApiError("validation_error", f"unknown provider {provider!r}", param="provider")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ApiError("validation_error", "currency must be an ISO 4217 code like INR", param="currency")
    try:
        return validate_fee_plans(fee_schedule)
    except ValueError as exc:
        raise ApiError("validation_error", str(exc), param="fee_schedule") from None


async def create_ple(
    res: Resources,
    *,
    provider: str,
    name: str,
    currency: str,
    base_url: str,
    secret: str | None,
    fee_schedule: dict[str, Any] | None,
    actor: str,
) -> dict[str, Any]:
    """Create a PLE. Without a secret one is generated and returned once as `secret` (§5, §11);
    a given secret must not be a well-known development value."""
    schedule = _check(provider, currency, fee_schedule or {})
    check_text(name, "name", 200)
    check_url_text(base_url, "base_url")
    if not base_url.startswith(("https://", "http://")):
        raise ApiError("validation_error", "base_url must be an http(s) URL", param="base_url")
    generated = secret is None
    secret = new_provider_secret() if secret is None else check_provider_secret(secret)
    ple_id = new_id("ple")
    enc = keyring_for(res.settings.secrets_master_keys).encrypt(secret, f"ples:{ple_id}")
    row = Ple(
        id=ple_id,
        provider=provider,
        name=name,
        currency=currency,
        base_url=base_url,
        credentials_enc=enc,
        fee_schedule=schedule,
        created_at=NOW,
        updated_at=NOW,
    )
    await res.db.run(Ple.insert(row))
    await audit.record(
        res.mongo,
        res.db,
        actor=actor,
        action="ple.created",
        target=ple_id,
        details={"provider": provider, "name": name, "currency": currency, "base_url": base_url},
    )
    created = await get_ple(res.db, ple_id)
    return {**created, "secret": secret} if generated else created


async def _fetch(db: Handle, ple_id: str) -> dict[str, Any]:
    row = await db.run(Ple.select().where(Ple.id == ple_id).first())
    if row is None:
        raise not_found("ple")
    return _row(row)


async def get_ple(db: Handle, ple_id: str) -> dict[str, Any]:
    return public_ple(await _fetch(db, ple_id))


async def list_ples(db: Handle, limit: int, starting_after: str | None) -> tuple[list[dict[str, Any]], bool]:
    query = Ple.select().order_by(Ple.id, ascending=False).limit(limit + 1)
    rows = await db.run(query.where(Ple.id < starting_after) if starting_after is not None else query)
    return [public_ple(_row(r)) for r in rows[:limit]], len(rows) > limit


async def update_ple(res: Resources, ple_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
    check_ple_changes(changes)  # every door (admin API, dashboard, CLI) refuses a well-known secret
    before = await _fetch(res.db, ple_id)
    values: dict[Any, Any] = {}
    if "fee_schedule" in changes:
        changes["fee_schedule"] = _check(before["provider"], before["currency"], changes["fee_schedule"])
    for column in (Ple.name, Ple.base_url, Ple.active, Ple.fee_schedule):
        if column._meta.name in changes:
            values[column] = changes[column._meta.name]
    if "secret" in changes:
        ring = keyring_for(res.settings.secrets_master_keys)
        values[Ple.credentials_enc] = ring.encrypt(changes["secret"], f"ples:{ple_id}")
    if values:
        await res.db.run(Ple.update({**values, Ple.updated_at: NOW}).where(Ple.id == ple_id))
        shown = {k: ("[rotated]" if k == "secret" else v) for k, v in changes.items()}
        await audit.record(res.mongo, res.db, actor=actor, action="ple.updated", target=ple_id, details=shown)
    return await get_ple(res.db, ple_id)


async def set_routes(
    res: Resources, merchant_id: str, routes: list[dict[str, str]], actor: str
) -> list[dict[str, str]]:
    """Replace the merchant's routes with `routes` (each direction, method, ple_id)."""
    seen = set()
    for i, route in enumerate(routes):
        direction, method = route.get("direction"), route.get("method")
        if direction not in DIRECTION_METHODS or method not in DIRECTION_METHODS[direction]:
            raise ApiError("validation_error", f"unknown direction/method {direction}/{method}", param=f"{i}.method")
        if (direction, method) in seen:
            raise ApiError("validation_error", f"{direction}/{method} is routed twice", param=f"{i}.method")
        seen.add((direction, method))
        await _fetch(res.db, route["ple_id"])
    async with res.db.transaction() as tx:
        if not await tx.run(Merchant.select(Merchant.id).where(Merchant.id == merchant_id).lock_rows()):
            raise not_found("merchant")
        await tx.run(MerchantRoute.delete().where(MerchantRoute.merchant_id == merchant_id))
        rows = [
            MerchantRoute(merchant_id=merchant_id, direction=r["direction"], method=r["method"], ple_id=r["ple_id"])
            for r in routes
        ]
        if rows:
            await tx.run(MerchantRoute.insert(*rows))
    await audit.record(
        res.mongo, res.db, actor=actor, action="routes.updated", target=merchant_id, details={"routes": routes}
    )
    return await routes_of(res.db, merchant_id)


async def routes_of(db: Handle, merchant_id: str) -> list[dict[str, str]]:
    r = MerchantRoute
    query = r.select(r.direction, r.method, r.ple_id).where(r.merchant_id == merchant_id)
    return await db.run(query.order_by(r.direction, r.method))  # type: ignore[no-any-return]


async def route_everything_to(res: Resources, merchant_id: str, ple_id: str, actor: str) -> list[dict[str, str]]:
    routes = [
        {"direction": d, "method": m, "ple_id": ple_id} for d, methods in DIRECTION_METHODS.items() for m in methods
    ]
    return await set_routes(res, merchant_id, routes, actor)


def ple_config(res: Resources, row: dict[str, Any]) -> PleConfig:
    secret = keyring_for(res.settings.secrets_master_keys).decrypt(row["credentials_enc"], f"ples:{row['id']}")
    return PleConfig(
        ple_id=row["id"],
        provider=row["provider"],
        base_url=row["base_url"],
        secret=secret,
        currency=row["currency"],
    )


async def ple_config_by_id(res: Resources, ple_id: str) -> PleConfig:
    return ple_config(res, await _fetch(res.db, ple_id))


async def active_ples(db: Handle, provider: str | None = None) -> list[dict[str, Any]]:
    query = Ple.select().where(Ple.active.eq(True)).order_by(Ple.id)
    rows = await db.run(query.where(Ple.provider == provider) if provider is not None else query)
    return [_row(r) for r in rows]
