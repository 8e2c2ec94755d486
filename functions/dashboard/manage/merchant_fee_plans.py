"""POST /manage/merchants/{merchant_id}/fee-plans: replace the merchant's fee plans (JSON)."""

from typing import Any

import orjson
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.admin import merchant_context
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
    text = form.get("fee_plans", "")
    try:
        try:
            plans = orjson.loads(text or "{}")
        except orjson.JSONDecodeError:
            raise ApiError("validation_error", "fee plans must be valid JSON", param="fee_plans") from None
        await update_merchant(resources, merchant_id, {"fee_plans": plans}, page.actor)
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        context = await merchant_context(page, merchant_id, error=exc.message)
        context["fee_plans_text"] = text
        return page.render("manage_merchant.html", status=422, **context)
    return page.redirect(f"/manage/merchants/{merchant_id}?done=fees")
