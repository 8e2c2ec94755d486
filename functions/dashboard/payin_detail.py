"""GET /payins/{payin_id}: one payin of the merchant, its refunds and the refund form
(another merchant's is a 404 page)."""

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.lists import deliveries_of
from core.dashboard.refunds import refund_panel
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.payins import get_payin
from core.resources import Resources

ROLE = "frontend"


@get("/payins/{payin_id:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def payin_detail(
    payin_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources)
    payin = await get_payin(resources, page.merchant_id, payin_id)
    return page.render(
        "transaction.html",
        kind="payin",
        t=msgspec.to_builtins(payin),
        deliveries=await deliveries_of(page, payin_id),
        **await refund_panel(page, payin),
    )
