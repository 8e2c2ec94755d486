"""GET /payouts/{payout_id}: one payout of the merchant (another merchant's is a 404 page)."""

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.lists import deliveries_of
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.payouts import get_payout
from core.resources import Resources

ROLE = "frontend"


@get("/payouts/{payout_id:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def payout_detail(
    payout_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources)
    payout = await get_payout(resources, page.merchant_id, payout_id)
    return page.render(
        "transaction.html",
        kind="payout",
        t=msgspec.to_builtins(payout),
        deliveries=await deliveries_of(page, payout_id),
    )
