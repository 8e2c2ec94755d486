"""Admin page contexts: a merchant with its routes and the PLEs it may be routed to."""

from __future__ import annotations

from typing import Any

from core.dashboard.fee_forms import SAMPLE_AMOUNT, fee_rows
from core.dashboard.web import Page
from core.merchants.service import DIRECTION_METHODS, get_merchant
from core.payments.inputs import CURRENCIES
from core.routing import list_ples, routes_of


async def merchant_context(
    page: Page, merchant_id: str, fee_plans: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """`fee_plans` given: the form shows those (a preview, or plans that were refused)."""
    merchant = await get_merchant(page.resources.db, merchant_id)
    routes = {(r["direction"], r["method"]): r["ple_id"] for r in await routes_of(page.resources.db, merchant_id)}
    ples, _ = await list_ples(page.resources.db, 100, None)
    return {
        "m": merchant,
        "routes": routes,
        "ples": ples,
        "direction_methods": DIRECTION_METHODS,
        "fee_rows": fee_rows(merchant["fee_plans"] if fee_plans is None else fee_plans),
        "sample_amount": SAMPLE_AMOUNT,
        "currencies": CURRENCIES,
        **extra,
    }


def routes_from_form(form: dict[str, str]) -> list[dict[str, str]]:
    """Fields `route:<direction>:<method>` = PLE id (empty: not routed)."""
    routes = []
    for direction, methods in DIRECTION_METHODS.items():
        for method in methods:
            ple_id = form.get(f"route:{direction}:{method}", "").strip()
            if ple_id:
                routes.append({"direction": direction, "method": method, "ple_id": ple_id})
    return routes


async def settlements_context(page: Page, **extra: Any) -> dict[str, Any]:
    from core.settlement import list_settlements, previous_utc_day

    after = (page.request.query_params.get("starting_after") or "").strip()[:64] or None
    rows, has_more = await list_settlements(page.resources.db, 50, after)
    ples, _ = await list_ples(page.resources.db, 100, None)
    return {
        "settlements": rows,
        "has_more": has_more,
        "ples": ples,
        "yesterday": previous_utc_day().isoformat(),
        **extra,
    }


async def ples_context(page: Page, **extra: Any) -> dict[str, Any]:
    from core.providers.registry import ADAPTERS

    after = (page.request.query_params.get("starting_after") or "").strip()[:64] or None
    rows, has_more = await list_ples(page.resources.db, 50, after)
    return {
        "ples": rows,
        "has_more": has_more,
        "providers": sorted(ADAPTERS),
        "currencies": CURRENCIES,
        "fee_rows": fee_rows({}),
        "sample_amount": SAMPLE_AMOUNT,
        **extra,
    }
