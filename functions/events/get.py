"""GET /v1/events/{event_id}: one of the merchant's events (another merchant's is not_found)."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth
from core.webhooks.service import get_event

ROLE = "api"


@get("/v1/events/{event_id:str}", **documented("getEvent", answers.Event))
async def get_merchant_event(
    event_id: FromPath[str],
    resources: NamedDependency[Resources],
    merchant: NamedDependency[MerchantAuth],
) -> dict[str, Any]:
    return await get_event(resources, merchant.merchant_id, event_id)
