"""GET /settings/whitelist: the merchant's IP whitelist as an editable list."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.merchants.service import get_merchant
from core.resources import Resources

ROLE = "frontend"


@get("/settings/whitelist", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def whitelist(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    merchant = await get_merchant(resources.db, page.merchant_id)
    saved = request.query_params.get("saved") == "1"
    return page.render("whitelist.html", text="\n".join(merchant["ip_whitelist"]), saved=saved)
