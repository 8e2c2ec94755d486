"""POST /manage/merchants: create a merchant; its API and webhook secrets are in this answer only."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.merchants.service import create_merchant, list_merchants
from core.resources import Resources

ROLE = "frontend"


@post("/manage/merchants", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_create(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    created, error, status = None, None, 201
    name = form.get("name", "").strip()
    whitelist = [x.strip() for x in form.get("ip_whitelist", "").replace(",", "\n").splitlines() if x.strip()]
    try:
        if not name or len(name) > 200:
            raise ApiError("validation_error", "name must be 1 to 200 characters", param="name")
        created = await create_merchant(
            resources,
            name=name,
            actor=page.actor,
            ip_whitelist=whitelist,
            webhook_url=form.get("webhook_url", "").strip() or None,
        )
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        error, status = exc.message, 422
    rows, has_more = await list_merchants(resources.db, 50, None)
    return page.render(
        "manage_merchants.html", status=status, merchants=rows, has_more=has_more, created=created, error=error
    )
