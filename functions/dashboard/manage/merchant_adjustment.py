"""POST /manage/merchants/{merchant_id}/adjustments: a manual credit or debit typed in major units,
audited, once per reference."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.balances import adjust
from core.dashboard.admin import merchant_context
from core.dashboard.money import minor_units
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.resources import Resources

ROLE = "frontend"


@post("/manage/merchants/{merchant_id:str}/adjustments", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def merchant_adjustment(
    merchant_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    try:
        amount = minor_units(form.get("amount", ""))  # typed in rupees, never paise
        if form.get("direction") == "debit":
            amount = -amount
        entry = await adjust(
            resources,
            merchant_id,
            amount=amount,
            currency=form.get("currency", "").strip().upper(),
            reference=form.get("reference", "").strip(" "),
            reason=form.get("reason", "").strip(" "),
            actor=page.actor.name,
        )
    except ApiError as exc:
        if exc.code not in ("validation_error", "insufficient_funds", "duplicate_reference"):
            raise
        context = await merchant_context(page, merchant_id, error=exc.message)
        return page.render("manage_merchant.html", status=422, **context)
    return page.redirect(f"/manage/merchants/{merchant_id}?done={'replayed' if entry['replayed'] else 'adjusted'}")
