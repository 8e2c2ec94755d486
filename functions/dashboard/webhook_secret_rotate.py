"""POST /webhooks/secret: rotate the webhook signing secret; the new one is in this answer only."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.dashboard.webhooks import webhooks_context
from core.merchants.service import rotate_webhook_secret
from core.resources import Resources

ROLE = "frontend"


@post("/webhooks/secret", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def webhook_secret_rotate(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, need="webhooks:write")
    await page.form()
    rotated = await rotate_webhook_secret(resources, page.merchant_id, page.actor)
    return page.render("webhooks.html", **await webhooks_context(page, new_secret=rotated["webhook_secret"]))
