"""GET /refunds/{refund_id}: one refund of the merchant (another merchant's is a 404 page)."""

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.lists import deliveries_of
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.refunds import get_refund
from core.resources import Resources

ROLE = "frontend"


@get("/refunds/{refund_id:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def refund_detail(
    refund_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources)
    refund = await get_refund(resources, page.merchant_id, refund_id)
    return page.render(
        "transaction.html",
        kind="refund",
        t=msgspec.to_builtins(refund),
        deliveries=await deliveries_of(page, refund_id),
    )
