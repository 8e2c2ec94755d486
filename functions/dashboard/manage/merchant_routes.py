"""POST /manage/merchants/{merchant_id}/routes: which PLE serves each direction and method."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.admin import merchant_context, routes_from_form
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.resources import Resources
from core.routing import set_routes

ROLE = "frontend"


@post("/manage/merchants/{merchant_id:str}/routes", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_routes(
    merchant_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    try:
        await set_routes(resources, merchant_id, routes_from_form(form), page.actor.name)
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        return page.render(
            "manage_merchant.html", status=422, **await merchant_context(page, merchant_id, error=exc.message)
        )
    return page.redirect(f"/manage/merchants/{merchant_id}?done=routes")
