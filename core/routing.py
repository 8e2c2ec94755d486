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
from core.timeutil import iso

PLE_COLUMNS = "id, provider, name, currency, base_url, credentials_enc, fee_schedule, active, created_at, updated_at"


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
    await res.db.sql(
        "INSERT INTO ples (id, provider, name, currency, base_url, credentials_enc, fee_schedule)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}::jsonb)",
        ple_id,
        provider,
        name,
        currency,
        base_url,
        enc,
        orjson.dumps(schedule).decode(),
    )
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
    rows = await db.sql(f"SELECT {PLE_COLUMNS} FROM ples WHERE id = {{}}", ple_id)
    if not rows:
        raise not_found("ple")
    return _row(rows[0])


async def get_ple(db: Handle, ple_id: str) -> dict[str, Any]:
    return public_ple(await _fetch(db, ple_id))


async def list_ples(db: Handle, limit: int, starting_after: str | None) -> tuple[list[dict[str, Any]], bool]:
    rows = await db.sql(
        f"SELECT {PLE_COLUMNS} FROM ples WHERE ({{}}::text IS NULL OR id < {{}}) ORDER BY id DESC LIMIT {{}}",
        starting_after,
        starting_after,
        limit + 1,
    )
    return [public_ple(_row(r)) for r in rows[:limit]], len(rows) > limit


async def update_ple(res: Resources, ple_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
    check_ple_changes(changes)  # every door (admin API, dashboard, CLI) refuses a well-known secret
    before = await _fetch(res.db, ple_id)
    sets, args = [], []
    if "fee_schedule" in changes:
        changes["fee_schedule"] = _check(before["provider"], before["currency"], changes["fee_schedule"])
    for column in ("name", "base_url", "active", "fee_schedule"):
        if column in changes:
            sets.append(f"{column} = {{}}" + ("::jsonb" if column == "fee_schedule" else ""))
            value = changes[column]
            args.append(orjson.dumps(value).decode() if column == "fee_schedule" else value)
    if "secret" in changes:
        sets.append("credentials_enc = {}")
        args.append(keyring_for(res.settings.secrets_master_keys).encrypt(changes["secret"], f"ples:{ple_id}"))
    if sets:
        await res.db.sql(f"UPDATE ples SET {', '.join(sets)}, updated_at = now() WHERE id = {{}}", *args, ple_id)
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
        if not await tx.sql("SELECT id FROM merchants WHERE id = {} FOR UPDATE", merchant_id):
            raise not_found("merchant")
        await tx.sql("DELETE FROM merchant_routes WHERE merchant_id = {}", merchant_id)
        for route in routes:
            await tx.sql(
                "INSERT INTO merchant_routes (merchant_id, direction, method, ple_id) VALUES ({}, {}, {}, {})",
                merchant_id,
                route["direction"],
                route["method"],
                route["ple_id"],
            )
    await audit.record(
        res.mongo, res.db, actor=actor, action="routes.updated", target=merchant_id, details={"routes": routes}
    )
    return await routes_of(res.db, merchant_id)


async def routes_of(db: Handle, merchant_id: str) -> list[dict[str, str]]:
    return await db.sql(
        "SELECT direction, method, ple_id FROM merchant_routes WHERE merchant_id = {} ORDER BY direction, method",
        merchant_id,
    )


async def route_everything_to(res: Resources, merchant_id: str, ple_id: str, actor: str) -> list[dict[str, str]]:
    routes = [
        {"direction": d, "method": m, "ple_id": ple_id} for d, methods in DIRECTION_METHODS.items() for m in methods
    ]
    return await set_routes(res, merchant_id, routes, actor)


async def resolve_route(
    res: Resources, merchant_id: str, direction: str, method: str
) -> tuple[PleConfig, dict[str, Any]]:
    """The PLE a merchant's request goes to and that PLE's fee plan for it; 422 `no_route`."""
    rows = await res.db.sql(
        f"SELECT {', '.join('p.' + c.strip() for c in PLE_COLUMNS.split(','))} FROM merchant_routes r"
        " JOIN ples p ON p.id = r.ple_id WHERE r.merchant_id = {} AND r.direction = {} AND r.method = {}"
        " AND p.active",
        merchant_id,
        direction,
        method,
    )
    if not rows:
        raise ApiError("no_route", f"no active provider route for {direction} method {method!r}", param="method")
    return ple_config(res, _row(rows[0])), rows[0]["fee_schedule"].get(direction, {}).get(method) or {}


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
    rows = await db.sql(
        f"SELECT {PLE_COLUMNS} FROM ples WHERE active AND ({{}}::text IS NULL OR provider = {{}}) ORDER BY id",
        provider,
        provider,
    )
    return [_row(r) for r in rows]
