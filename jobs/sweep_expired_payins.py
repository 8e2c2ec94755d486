"""Cron, every minute: the transaction monitor. Catches any missed expiry and re-applies the
effects of any payin whose state changed without them (a crash between the steps)."""

from __future__ import annotations

from typing import Any

from core.payments.sweeps import sweep_payins

CRON = "* * * * *"
TIMEOUT = 60  # a killed run blocks the next tick until it is swept: keep it short


async def sweep_expired_payins(ctx: dict[str, Any]) -> dict[str, int]:
    return await sweep_payins(ctx["resources"])
