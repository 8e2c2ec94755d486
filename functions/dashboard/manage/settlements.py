"""GET /manage/settlements: provider fee settlements, and the form to settle a PLE's ended day."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.admin import settlements_context
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/manage/settlements", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def settlements(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    return page.render("manage_settlements.html", **await settlements_context(page))
