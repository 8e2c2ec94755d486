"""Poll the provider for a payout's status: delayed, backing off, bounded, stopping at a final
status. When the attempts run out the payout stays processing with needs_review (§4.6, §7)."""

from __future__ import annotations

from typing import Any

from core.job_refs import POLL_PAYOUT, PollArgs
from core.payments import submission
from core.payments.payouts import SUBMITTER

JOB = POLL_PAYOUT


async def poll_payout(ctx: dict[str, Any], args: PollArgs) -> str:
    return await submission.poll(ctx["resources"], SUBMITTER, args)
