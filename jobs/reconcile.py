"""Reconcile transactions against the ledger for a UTC day (docs/settlement.md).

Cron daily at 00:30 UTC for the previous day (no `date`); enqueued by hand with `date=YYYY-MM-DD`
for any day. Safe to rerun: the day's report is replaced."""

from __future__ import annotations

from typing import Any

from core.job_refs import RECONCILE, ReconcileArgs
from core.reconciliation import reconcile as run_reconciliation
from core.settlement import previous_utc_day

JOB = RECONCILE


async def reconcile(ctx: dict[str, Any], args: ReconcileArgs) -> dict[str, Any]:
    report = await run_reconciliation(ctx["resources"], args.date or previous_utc_day())
    return {"date": report["date"], "checked": report["checked"], "mismatches": len(report["mismatches"])}
