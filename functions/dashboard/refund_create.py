"""POST /payins/{payin_id}/refunds: the merchant refunds a payin from its page (§4.9 through the
same service as `POST /v1/refunds`); a refusal redraws the page with the reason."""

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.lists import deliveries_of
from core.dashboard.refunds import refund_from_form, refund_panel
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.payments.payins import get_payin
from core.resources import Resources

ROLE = "frontend"
SHOWN = {  # refusals the merchant can act on; anything else is the error page
    "validation_error",
    "refund_exceeds_payin",
    "payin_not_refundable",
    "insufficient_funds",
    "duplicate_reference",
}


@post("/payins/{payin_id:str}/refunds", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def refund_create(
    payin_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources)
    form = await page.form()
    payin = await get_payin(resources, page.merchant_id, payin_id)  # 404 page for another merchant's
    try:
        refund = await refund_from_form(page, payin.id, form)
    except ApiError as exc:
        if exc.code not in SHOWN:
            raise
        return page.render(
            "transaction.html",
            status=422 if exc.code != "duplicate_reference" else 409,
            kind="payin",
            t=msgspec.to_builtins(payin),
            deliveries=await deliveries_of(page, payin.id),
            refund_error=exc.message,
            **await refund_panel(page, payin),
        )
    return page.redirect(f"/refunds/{refund.id}")
