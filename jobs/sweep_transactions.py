"""Every minute: the transaction monitor. Repairs what a crash left between two stores, re-enqueues
lost polls, resubmits unanswered submissions, releases orphan holds, expires due payins the
provider confirms unpaid, and refreshes the review gauges (core/payments/sweep.py)."""

from __future__ import annotations

from typing import Any

import msgspec

from core.job_refs import SWEEP_TRANSACTIONS
from core.jobs_client import NoArgs
from core.payments.sweep import sweep_transactions as sweep

JOB = SWEEP_TRANSACTIONS


async def sweep_transactions(ctx: dict[str, Any], args: NoArgs) -> dict[str, int]:
    return msgspec.structs.asdict(await sweep(ctx["resources"]))
