"""GET /admin/v1/audit: audit entries newest first, filtered by actor, action, target, since."""

from datetime import datetime
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core import audit
from core.errors import ApiError
from core.http.lists import Limit, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources

ROLE = "api"


@get("/admin/v1/audit", opt={"admin_scope": "read"}, **documented("adminListAudit"))
async def list_audit(
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: FromQuery[int | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    target: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
) -> dict[str, Any]:
    if starting_after is not None and not 0 <= starting_after < 2**63:  # an entry's seq (MongoDB int64)
        raise ApiError("validation_error", "starting_after must be an entry's seq", param="starting_after")
    if since is not None and since.tzinfo is None:
        raise ApiError("validation_error", "since must carry a time zone, e.g. 2026-11-23T10:15:00Z", param="since")
    entries, has_more = await audit.list_entries(
        resources.mongo,
        actor=actor,
        action=action,
        target=target,
        since=since,
        limit=checked_limit(limit),
        starting_after=starting_after,
    )
    return page(entries, has_more)
