"""Scheduled at a payin's expires_at: expire it if still pending, after asking the provider."""

from __future__ import annotations

from typing import Any

from core.payments.payins import check_with_provider, schedule_expiry


async def expire_payin(ctx: dict[str, Any], *, payin_id: str) -> str:
    status = await check_with_provider(ctx["resources"], payin_id, source="expire_payin")
    if status == "pending":  # not due yet (clock skew between roles): look again at expires_at
        await schedule_expiry(ctx["resources"], payin_id, retry=True)
    return status
