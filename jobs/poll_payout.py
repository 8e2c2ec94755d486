"""Poll the provider for a payout's status: delayed, backing off, bounded, stopping at a final
status. When the attempts run out the payout stays processing with needs_review (§4.6, §7)."""

from __future__ import annotations

from typing import Any

from core.payments.payouts import poll_once


async def poll_payout(ctx: dict[str, Any], *, payout_id: str, attempt: int = 1) -> str:
    return await poll_once(ctx["resources"], payout_id, attempt)
