"""Resubmit a payout whose submission went unanswered, with the same id (the provider's
idempotency key: never a second payout)."""

from __future__ import annotations

from typing import Any

from core.job_refs import SUBMIT_PAYOUT, SubmitArgs
from core.payments import submission
from core.payments.payouts import SUBMITTER

JOB = SUBMIT_PAYOUT


async def submit_payout(ctx: dict[str, Any], args: SubmitArgs) -> str:
    payout = await submission.resubmit(ctx["resources"], SUBMITTER, args.id, source="resubmit")
    return "missing" if payout is None else str(payout.status)
