"""GET /admin/v1/settlements: provider fee settlements, newest first; filters `ple_id`, `date`."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources
from core.settlement import list_settlements, parse_day

ROLE = "api"


@get("/admin/v1/settlements", opt={"admin_scope": "read"}, **documented("adminListSettlements", answers.SettlementList))
async def list_all(
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    ple_id: FromQuery[str | None] = None,
    date: FromQuery[str | None] = None,
) -> dict[str, Any]:
    day = parse_day(date) if date is not None else None
    data, has_more = await list_settlements(resources.db, checked_limit(limit), starting_after, ple_id=ple_id, day=day)
    return page(data, has_more)
