"""GET /manage/merchants/{merchant_id}: one merchant: status, fee plans, routing, keys."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.admin import merchant_context
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"
NOTICES = {
    "status": "Status changed.",
    "fees": "Fee plans saved.",
    "routes": "Routes saved.",
    "adjusted": "Adjustment posted.",
    "replayed": "An adjustment with that reference was already posted; nothing new was posted.",
}


@get("/manage/merchants/{merchant_id:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_detail(
    merchant_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    notice = NOTICES.get(request.query_params.get("done") or "")
    return page.render("manage_merchant.html", **await merchant_context(page, merchant_id, notice=notice))
