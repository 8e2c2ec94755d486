"""GET /manage/ples: providers' legal entities, their fee schedules and whether they are active,
and the form that creates one."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.admin import ples_context
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/manage/ples", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def ples(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    return page.render("manage_ples.html", **await ples_context(page))
