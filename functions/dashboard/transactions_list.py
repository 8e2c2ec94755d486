"""GET /payins, /payouts, /refunds: the merchant's transactions of that kind, newest first, with
filters, page numbers and a page-size choice (core/dashboard/filters.py)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.lists import transactions_page
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get(["/payins", "/payouts", "/refunds"], exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def transactions_list(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    kind = request.url.path.strip("/").removesuffix("s")
    return page.render("transactions.html", **await transactions_page(page, kind))
