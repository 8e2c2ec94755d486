"""GET /manage/merchants: every merchant, and the form to create one (admins only)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.merchants.service import list_merchants
from core.resources import Resources

ROLE = "frontend"


@get("/manage/merchants", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchants(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    after = (request.query_params.get("starting_after") or "").strip()[:64] or None
    rows, has_more = await list_merchants(resources.db, 50, after)
    return page.render("manage_merchants.html", merchants=rows, has_more=has_more, after=after)
