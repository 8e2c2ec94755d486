"""GET /refunds: the merchant's refunds, newest first, with filters and pagination."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.lists import transactions_page
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/refunds", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def refunds_list(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    return page.render("transactions.html", **await transactions_page(page, "refund"))
