"""POST /manage/settlements: settle a PLE's provider fees of an ended UTC day (once; a repeat is skipped)."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.admin import settlements_context
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.resources import Resources
from core.settlement import settle_ple_fees

ROLE = "frontend"


@post("/manage/settlements", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def settlement_create(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    try:
        settled = await settle_ple_fees(resources, form.get("ple_id", ""), form.get("date", ""), actor=page.actor.name)
    except ApiError as exc:
        if exc.code not in ("validation_error", "not_found"):
            raise
        context = await settlements_context(page, error=exc.message)
        return page.render("manage_settlements.html", status=422, **context)
    return page.render("manage_settlements.html", **await settlements_context(page, settled=settled))
