"""Resubmit a refund whose submission went unanswered, with the same id (the provider's
idempotency key: never a second refund)."""

from __future__ import annotations

from typing import Any

from core.job_refs import SUBMIT_REFUND, SubmitArgs
from core.payments import submission
from core.payments.refunds import SUBMITTER

JOB = SUBMIT_REFUND


async def submit_refund(ctx: dict[str, Any], args: SubmitArgs) -> str:
    refund = await submission.resubmit(ctx["resources"], SUBMITTER, args.id, source="resubmit")
    return "missing" if refund is None else str(refund.status)
