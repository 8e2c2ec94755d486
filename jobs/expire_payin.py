"""At a payin's expires_at: ask the provider first, expire only an unpaid payin (§4.5, §7)."""

from __future__ import annotations

from typing import Any

from core.job_refs import EXPIRE_PAYIN, PayinArgs
from core.payments.payins import expire_payin as expire

JOB = EXPIRE_PAYIN


async def expire_payin(ctx: dict[str, Any], args: PayinArgs) -> str:
    return str(await expire(ctx["resources"], args.payin_id))
