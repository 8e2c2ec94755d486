"""GET /manage/payouts-review: payouts and refunds across merchants whose outcome the provider
never told us after the bounded polling ran out, or whose report disagreed (needs_review)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind
from core.payments.views import admin_view
from core.resources import Resources

ROLE = "frontend"
REVIEWED = {Kind.PAYOUT: "po_", Kind.REFUND: "rf_"}  # kind → its id prefix


@get("/manage/payouts-review", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def payouts_review(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    after = (request.query_params.get("starting_after") or "").strip()[:64] or None
    sections: dict[str, dict[str, Any]] = {}
    for kind, prefix in REVIEWED.items():  # a cursor is an id of one kind: it pages only its own list
        start = after if after and after.startswith(prefix) else None
        found, has_more = await list_transactions(
            resources, kind, merchant_id=None, limit=50, starting_after=start, filters=ListFilters(needs_review=True)
        )
        sections[kind.value] = {"rows": [admin_view(t) for t in found], "has_more": has_more}
    return page.render("manage_review.html", sections=sections)
