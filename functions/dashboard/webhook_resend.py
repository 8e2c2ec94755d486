"""POST /webhooks/deliveries/{delivery_id}/resend: send one delivery again now."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources
from core.webhooks.service import retry_delivery

ROLE = "frontend"


@post("/webhooks/deliveries/{delivery_id:str}/resend", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def webhook_resend(
    delivery_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, need="webhooks:write")
    await page.form()
    await retry_delivery(resources, page.merchant_id, delivery_id, ip=page.ip or None)
    return page.redirect("/webhooks?done=resent")
