"""GET /admin/v1/ples: provider legal entities, newest first."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources
from core.routing import list_ples

ROLE = "api"


@get("/admin/v1/ples", opt={"admin_scope": "read"}, **documented("adminListPles", answers.PleList))
async def list_all(
    resources: NamedDependency[Resources], limit: Limit = 20, starting_after: StartingAfter = None
) -> dict[str, Any]:
    data, has_more = await list_ples(resources.db, checked_limit(limit), starting_after)
    return page(data, has_more)
