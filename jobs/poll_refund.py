"""Poll the provider for a refund's status, as payouts are polled: delayed, backing off, bounded,
stopping at a final status; when the attempts run out it stays processing with needs_review."""

from __future__ import annotations

from typing import Any

from core.job_refs import POLL_REFUND, PollArgs
from core.payments import submission
from core.payments.refunds import SUBMITTER

JOB = POLL_REFUND


async def poll_refund(ctx: dict[str, Any], args: PollArgs) -> str:
    return await submission.poll(ctx["resources"], SUBMITTER, args)
