"""GET /keys: the merchant's API keys."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.merchants.service import get_merchant
from core.resources import Resources

ROLE = "frontend"


@get("/keys", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def keys(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    merchant = await get_merchant(resources.db, page.merchant_id)
    return page.render("keys.html", keys=merchant["api_keys"])
