"""Cron, every minute: events without a delivery get one; stuck pending deliveries are re-enqueued."""

from __future__ import annotations

from typing import Any

from core.webhooks.delivery import sweep

CRON = "* * * * *"


async def sweep_webhook_deliveries(ctx: dict[str, Any]) -> dict[str, int]:
    return await sweep(ctx["resources"])
