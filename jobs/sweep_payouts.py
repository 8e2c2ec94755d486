"""Cron, every minute: payout recovery between the two stores (docs/payments.md) and the
payouts-needing-review gauge."""

from __future__ import annotations

from typing import Any

from core.payments.payout_sweep import sweep_payouts as sweep

CRON = "* * * * *"
TIMEOUT = 60  # a killed run blocks the next tick until it is swept: keep it short


async def sweep_payouts(ctx: dict[str, Any]) -> dict[str, int]:
    return await sweep(ctx["resources"])
