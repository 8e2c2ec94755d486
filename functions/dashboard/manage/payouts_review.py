"""GET /manage/payouts-review: payouts across merchants that polling gave up on (needs_review)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind
from core.payments.views import admin_view
from core.resources import Resources

ROLE = "frontend"


@get("/manage/payouts-review", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def payouts_review(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    after = (request.query_params.get("starting_after") or "").strip()[:64] or None
    payouts, has_more = await list_transactions(
        resources, Kind.PAYOUT, merchant_id=None, limit=50, starting_after=after, filters=ListFilters(needs_review=True)
    )
    return page.render("manage_review.html", rows=[admin_view(p) for p in payouts], has_more=has_more)
