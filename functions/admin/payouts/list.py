"""GET /admin/v1/payouts: payouts across merchants; `needs_review=true` lists those polling gave up on."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind, PayoutStatus
from core.payments.views import admin_view
from core.resources import Resources

ROLE = "api"


@get("/admin/v1/payouts", opt={"admin_scope": "read"}, **documented("adminListPayouts"))
async def list_all(
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    needs_review: FromQuery[bool | None] = None,
    merchant_id: FromQuery[str | None] = None,
    status: FromQuery[PayoutStatus | None] = None,
) -> dict[str, Any]:
    data, has_more = await list_transactions(
        resources,
        Kind.PAYOUT,
        merchant_id=merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        filters=ListFilters(status=status, needs_review=needs_review),
    )
    return page([admin_view(p) for p in data], has_more)
