"""On each stored provider callback: apply it through the payin or payout state machine."""

from __future__ import annotations

from typing import Any

from core.payments.callbacks import process_callback


async def process_provider_callback(ctx: dict[str, Any], *, callback_id: str) -> str:
    return await process_callback(ctx["resources"], callback_id)
