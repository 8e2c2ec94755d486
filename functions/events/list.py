"""GET /v1/events: the merchant's events, newest first, optionally of one `type`."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth
from core.webhooks.service import list_events

ROLE = "api"


@get("/v1/events", **documented("listEvents", answers.EventList))
async def list_merchant_events(
    resources: NamedDependency[Resources],
    merchant: NamedDependency[MerchantAuth],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    type: FromQuery[str | None] = None,
) -> dict[str, Any]:
    data, has_more = await list_events(
        resources, merchant.merchant_id, limit=checked_limit(limit), starting_after=starting_after, type=type
    )
    return page(data, has_more)
