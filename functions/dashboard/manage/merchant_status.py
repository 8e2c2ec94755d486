"""POST /manage/merchants/{merchant_id}/status: suspend or activate a merchant."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.web import PAGE_ERRORS, PageError, signed_in
from core.merchants.service import update_merchant
from core.resources import Resources

ROLE = "frontend"


@post("/manage/merchants/{merchant_id:str}/status", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_status(
    merchant_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    status = form.get("status", "")
    if status not in ("active", "suspended"):
        raise PageError(422, "status must be active or suspended")
    await update_merchant(resources, merchant_id, {"status": status}, page.actor)
    return page.redirect(f"/manage/merchants/{merchant_id}?done=status")
