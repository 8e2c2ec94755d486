"""GET /v1/payouts: the merchant's payouts, newest first; filters status, reference, created range."""

from datetime import datetime
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind, PayoutStatus
from core.payments.views import payout_view
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/payouts", **documented("listPayouts", answers.PayoutList))
async def list_payouts(
    merchant: NamedDependency[MerchantAuth],
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    status: FromQuery[PayoutStatus | None] = None,
    reference: FromQuery[str | None] = None,
    created_gte: FromQuery[datetime | None] = None,
    created_lt: FromQuery[datetime | None] = None,
) -> dict[str, Any]:
    data, has_more = await list_transactions(
        resources,
        Kind.PAYOUT,
        merchant_id=merchant.merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        filters=ListFilters(status=status, reference=reference, created_gte=created_gte, created_lt=created_lt),
    )
    return page([payout_view(p) for p in data], has_more)
