"""A payment request's context, resolved once: the merchant's route, its PLE and both fee plans.

One query joins the merchant's route for the direction and method, the PLE it points at and the
two fee plans; the PLE's secret comes from the process's directory (decrypted once). Everything
after works from this object and never reads them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import ApiError
from core.fees import FeePlan, Fees, compute_fees, plan_or_free
from core.providers.base import PleConfig
from core.providers.directory import PLE_COLUMNS
from core.resources import Resources

_ROUTE_SQL = (
    "SELECT "
    + ", ".join(f"p.{c.strip()}" for c in PLE_COLUMNS.split(","))
    + ", p.fee_schedule -> {} -> {} AS provider_plan, m.fee_plans -> {} -> {} AS merchant_plan"
    " FROM merchant_routes r JOIN ples p ON p.id = r.ple_id JOIN merchants m ON m.id = r.merchant_id"
    " WHERE r.merchant_id = {} AND r.direction = {} AND r.method = {} AND p.active"
)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a merchant's payin or payout goes, and what it costs."""

    merchant_id: str
    direction: str
    method: str
    ple: PleConfig
    merchant_plan: FeePlan
    provider_plan: FeePlan

    def fees(self, amount: int) -> Fees:
        return compute_fees(amount, self.merchant_plan, self.provider_plan)


def _plan(value: Any) -> FeePlan:
    return plan_or_free(orjson.loads(value) if isinstance(value, str | bytes) else value)


async def resolve_route(res: Resources, merchant_id: str, direction: str, method: str, currency: str) -> Route:
    """The merchant's active route for `direction`/`method` in `currency`; 422 `no_route`."""
    rows = await res.db.sql(_ROUTE_SQL, direction, method, direction, method, merchant_id, direction, method)
    if not rows:
        raise ApiError("no_route", f"no active provider route for {direction} method {method!r}", param="method")
    row = rows[0]
    ple = res.ples.config(row)
    if ple.currency != currency:
        raise ApiError("no_route", f"no provider route for {currency} {direction}s", param="currency")
    return Route(
        merchant_id=merchant_id,
        direction=direction,
        method=method,
        ple=ple,
        merchant_plan=_plan(row["merchant_plan"]),
        provider_plan=_plan(row["provider_plan"]),
    )
