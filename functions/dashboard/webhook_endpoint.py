"""POST /webhooks/endpoint: change the webhook endpoint URL (same checks as the admin API)."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.dashboard.webhooks import webhooks_context
from core.errors import ApiError
from core.merchants.service import update_merchant
from core.resources import Resources

ROLE = "frontend"


@post("/webhooks/endpoint", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def webhook_endpoint(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, need="webhooks:write")
    form = await page.form()
    try:
        await update_merchant(
            resources, page.merchant_id, {"webhook_url": form.get("webhook_url", "").strip()}, page.actor
        )
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        return page.render("webhooks.html", status=422, **await webhooks_context(page, error=exc.message))
    return page.redirect("/webhooks?done=saved")
