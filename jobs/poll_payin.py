"""After an ambiguous payin creation (timeout, dropped connection, 5xx): bounded status queries
until the provider answers; the payin is never failed by guesswork (§4.5)."""

from __future__ import annotations

from typing import Any

from core.job_refs import POLL_PAYIN, PollArgs
from core.payments.payins import poll_payin as poll

JOB = POLL_PAYIN


async def poll_payin(ctx: dict[str, Any], args: PollArgs) -> str:
    return await poll(ctx["resources"], args)
