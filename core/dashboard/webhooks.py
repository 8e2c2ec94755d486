"""The webhooks page context: the merchant's endpoint and its recent deliveries."""

from __future__ import annotations

from typing import Any

from core.dashboard.web import Page
from core.merchants.service import get_merchant
from core.webhooks.service import list_deliveries

PAGE_SIZE = 25


async def webhooks_context(page: Page, **extra: Any) -> dict[str, Any]:
    after = (page.request.query_params.get("starting_after") or "").strip()[:64] or None
    deliveries, has_more = await list_deliveries(
        page.resources, page.merchant_id, limit=PAGE_SIZE, starting_after=after
    )
    merchant = await get_merchant(page.resources.db, page.merchant_id)
    return {"merchant": merchant, "deliveries": deliveries, "has_more": has_more, **extra}
