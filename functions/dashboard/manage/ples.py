"""GET /manage/ples: providers' legal entities, their fee schedules and whether they are active."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources
from core.routing import list_ples

ROLE = "frontend"


@get("/manage/ples", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def ples(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    after = (request.query_params.get("starting_after") or "").strip()[:64] or None
    rows, has_more = await list_ples(resources.db, 50, after)
    return page.render("manage_ples.html", ples=rows, has_more=has_more)
