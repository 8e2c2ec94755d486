"""GET /v1/refunds: the merchant's refunds, newest first; filters payin_id, status, reference,
created range (§4.4)."""

from datetime import datetime
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind, RefundStatus
from core.payments.views import refund_view
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/refunds", **documented("listRefunds", answers.RefundList))
async def list_refunds(
    merchant: NamedDependency[MerchantAuth],
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    payin_id: FromQuery[str | None] = None,
    status: FromQuery[RefundStatus | None] = None,
    reference: FromQuery[str | None] = None,
    created_gte: FromQuery[datetime | None] = None,
    created_lt: FromQuery[datetime | None] = None,
) -> dict[str, Any]:
    filters = ListFilters(
        payin_id=payin_id, status=status, reference=reference, created_gte=created_gte, created_lt=created_lt
    )
    data, has_more = await list_transactions(
        resources,
        Kind.REFUND,
        merchant_id=merchant.merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        filters=filters,
    )
    return page([refund_view(r) for r in data], has_more)
