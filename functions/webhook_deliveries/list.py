"""GET /v1/webhook-deliveries: the delivery log, newest first, filtered by `event_id`, `status`."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth
from core.webhooks.service import list_deliveries

ROLE = "api"


@get("/v1/webhook-deliveries", **documented("listWebhookDeliveries", answers.WebhookDeliveryList))
async def list_webhook_deliveries(
    resources: NamedDependency[Resources],
    merchant: NamedDependency[MerchantAuth],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    event_id: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> dict[str, Any]:
    data, has_more = await list_deliveries(
        resources,
        merchant.merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        event_id=event_id,
        status=status,
    )
    return page(data, has_more)
