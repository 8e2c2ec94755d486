"""GET /webhooks: endpoint URL, secret rotation and the delivery log."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.dashboard.webhooks import webhooks_context
from core.resources import Resources

ROLE = "frontend"


@get("/webhooks", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def webhooks(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    notice = {"saved": "Endpoint saved.", "resent": "Delivery queued to be sent again."}.get(
        request.query_params.get("done") or ""
    )
    return page.render("webhooks.html", **await webhooks_context(page, notice=notice))
