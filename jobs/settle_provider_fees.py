"""Settle one PLE's provider fees of one UTC day (docs/settlement.md); skips a settled day."""

from __future__ import annotations

from typing import Any

from core.job_refs import SETTLE_PROVIDER_FEES, SettleArgs
from core.settlement import settle_ple_fees

JOB = SETTLE_PROVIDER_FEES


async def settle_provider_fees(ctx: dict[str, Any], args: SettleArgs) -> dict[str, Any]:
    return await settle_ple_fees(ctx["resources"], args.ple_id, args.date, actor="system:settlement")
