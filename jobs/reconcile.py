"""Reconcile transactions against the ledger for a UTC day (docs/settlement.md).

Cron daily at 00:30 UTC for the previous day (no `date`); enqueued by hand with `date=YYYY-MM-DD`
for any day. Safe to rerun: the day's report is replaced."""

from __future__ import annotations

from typing import Any

from core.reconciliation import reconcile as run_reconciliation
from core.settlement import previous_utc_day

CRON = "30 0 * * *"
TIMEOUT = 600


async def reconcile(ctx: dict[str, Any], *, date: str | None = None) -> dict[str, Any]:
    report = await run_reconciliation(ctx["resources"], date or previous_utc_day())
    return {"date": report["date"], "checked": report["checked"], "mismatches": len(report["mismatches"])}
