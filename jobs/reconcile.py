"""Reconcile a UTC day (docs/settlement.md): transactions against the ledger, then each active
PLE's provider statement against both (three-way).

Cron daily at 00:30 UTC for the previous day (no `date`); enqueued by hand with `date=YYYY-MM-DD`
for any day, and `ple_id` for one PLE's three-way run only. Safe to rerun: each report is replaced.
A PLE whose statement cannot be read is logged and reported in `unreadable`; the others still run."""

from __future__ import annotations

from typing import Any

import structlog

from core.errors import ApiError
from core.job_refs import RECONCILE, ReconcileArgs
from core.reconciliation import reconcile as run_reconciliation
from core.routing import active_ples
from core.settlement import previous_utc_day
from core.statement_reconciliation import reconcile_statement

JOB = RECONCILE
log = structlog.get_logger("reconciliation")


async def reconcile(ctx: dict[str, Any], args: ReconcileArgs) -> dict[str, Any]:
    res = ctx["resources"]
    day = args.date or previous_utc_day().isoformat()
    result: dict[str, Any] = {"date": day, "breaks": {}, "unreadable": []}
    if args.ple_id is None:
        report = await run_reconciliation(res, day)
        result |= {"checked": report["checked"], "mismatches": len(report["mismatches"])}
    ple_ids = [args.ple_id] if args.ple_id else [ple["id"] for ple in await active_ples(res.db)]
    for ple_id in ple_ids:
        try:
            three_way = await reconcile_statement(res, ple_id, day)
        except ApiError as exc:  # provider_unavailable: the next run (or an operator) retries
            log.warning("statement not reconciled", ple_id=ple_id, date=day, error=exc.code)
            result["unreadable"].append(ple_id)
            continue
        result["breaks"][ple_id] = three_way["break_count"]
    return result
