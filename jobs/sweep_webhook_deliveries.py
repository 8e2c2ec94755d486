"""Cron, every minute: events without a delivery get one; stuck pending deliveries are re-enqueued."""

from __future__ import annotations

from typing import Any

from core.job_refs import SWEEP_WEBHOOK_DELIVERIES
from core.jobs_client import NoArgs
from core.webhooks.delivery import sweep

JOB = SWEEP_WEBHOOK_DELIVERIES


async def sweep_webhook_deliveries(ctx: dict[str, Any], args: NoArgs) -> dict[str, int]:
    return await sweep(ctx["resources"])
