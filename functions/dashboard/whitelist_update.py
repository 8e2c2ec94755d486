"""POST /settings/whitelist: replace the whitelist; an invalid entry re-shows the form with the error."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.merchants.service import update_merchant
from core.resources import Resources

ROLE = "frontend"


@post("/settings/whitelist", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def whitelist_update(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, need="whitelist:write")
    form = await page.form()
    text = form.get("entries", "")
    entries = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    try:
        await update_merchant(resources, page.merchant_id, {"ip_whitelist": entries}, page.actor)
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        return page.render("whitelist.html", status=422, text=text, error=exc.message)
    return page.redirect("/settings/whitelist?saved=1")
