"""Settle one PLE's provider fees of one UTC day (docs/settlement.md); skips a settled day."""

from __future__ import annotations

from typing import Any

from core.settlement import settle_ple_fees

TIMEOUT = 120


async def settle_provider_fees(ctx: dict[str, Any], *, ple_id: str, date: str) -> dict[str, Any]:
    return await settle_ple_fees(ctx["resources"], ple_id, date, actor="system:settlement")
