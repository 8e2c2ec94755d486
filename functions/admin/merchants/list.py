"""GET /admin/v1/merchants: every merchant, newest first."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.merchants.service import list_merchants
from core.resources import Resources

ROLE = "api"


@get("/admin/v1/merchants", opt={"admin_scope": "read"}, **documented("adminListMerchants", answers.MerchantList))
async def list_all(
    resources: NamedDependency[Resources], limit: Limit = 20, starting_after: StartingAfter = None
) -> dict[str, Any]:
    data, has_more = await list_merchants(resources.db, checked_limit(limit), starting_after)
    return page(data, has_more)
