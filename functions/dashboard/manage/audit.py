"""GET /manage/audit: audit entries (filters actor, action, target) and the hash chain's verify status."""

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core import audit as audit_log
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/manage/audit", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def audit(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    params = request.query_params
    filters = {k: (params.get(k) or "").strip() or None for k in ("actor", "action", "target")}
    after = params.get("starting_after") or ""
    entries, has_more = await audit_log.list_entries(
        resources.mongo, **filters, limit=50, starting_after=int(after) if after.isdigit() else None
    )
    chain = await audit_log.verify_chain(resources.mongo, resources.db)
    query = urlencode({k: v for k, v in filters.items() if v})
    return page.render(
        "manage_audit.html", entries=entries, has_more=has_more, chain=chain, filters=filters, query=query
    )
