"""POST /manage/merchants/{merchant_id}/fee-plans: replace the merchant's fee plans from the form's
percent and fixed fields; `action=preview` shows the fee each row would charge without saving."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.admin import merchant_context
from core.dashboard.fee_forms import plans_from_form
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.merchants.service import update_merchant
from core.resources import Resources

ROLE = "frontend"


@post("/manage/merchants/{merchant_id:str}/fee-plans", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_fee_plans(
    merchant_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    try:
        plans = plans_from_form(form)
        if form.get("action") == "preview":
            context = await merchant_context(page, merchant_id, fee_plans=plans, notice="Preview: not saved yet.")
            return page.render("manage_merchant.html", **context)
        await update_merchant(resources, merchant_id, {"fee_plans": plans}, page.actor)
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        return page.render(
            "manage_merchant.html", status=422, **await merchant_context(page, merchant_id, error=exc.message)
        )
    return page.redirect(f"/manage/merchants/{merchant_id}?done=fees")
