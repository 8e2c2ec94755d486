"""Resubmit a payout whose submission went unanswered (timeout, 5xx): same id, never a second payout."""

from __future__ import annotations

from typing import Any

from core.payments.payouts import submit_payout as submit

RETRIES = 3


async def submit_payout(ctx: dict[str, Any], *, payout_id: str) -> str:
    doc = await submit(ctx["resources"], payout_id, source="resubmit")
    return str(doc["status"])
