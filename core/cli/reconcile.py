"""`gateway reconcile`: check a UTC day's transactions against the ledger, or with `--ple` one
PLE's provider statement against both (three-way; docs/settlement.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.command()
@click.option("--date", "day", default=None, help="the UTC day, YYYY-MM-DD (default: yesterday)")
@click.option("--ple", "ple_id", default=None, help="reconcile this PLE's provider statement three ways")
@click.option(
    "--apply",
    "apply_collected",
    is_flag=True,
    help="with --ple: ask the provider about each collected_not_succeeded break and apply its answer",
)
@click.option("--json", "as_json", is_flag=True)
def reconcile(day: str | None, ple_id: str | None, apply_collected: bool, as_json: bool) -> None:
    """Reconcile and store the day's report; prints it and exits 1 when it has mismatches or breaks."""
    from core.errors import ApiError
    from core.reconciliation import reconcile as run_reconciliation
    from core.settlement import previous_utc_day
    from core.statement_reconciliation import apply_collected as apply_break
    from core.statement_reconciliation import reconcile_statement

    if apply_collected and not ple_id:
        raise click.UsageError("--apply needs --ple")
    settings = cli_settings()
    checked_day = day or previous_utc_day().isoformat()

    async def work(res: Any) -> dict[str, Any]:
        if not ple_id:
            return await run_reconciliation(res, checked_day)
        report = await reconcile_statement(res, ple_id, checked_day)
        if not apply_collected:
            return report
        applied = {}
        for brk in report["breaks"]:
            if brk["kind"] == "collected_not_succeeded" and brk["action"] == "apply":
                tid = brk["transaction_id"]
                applied[tid] = await apply_break(res, ple_id, checked_day, tid, actor="cli:reconcile")
        return {**await reconcile_statement(res, ple_id, checked_day), "applied": applied}

    try:
        report = run_with_resources(settings, work)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    emit(report, as_json)
    if report.get("mismatches") or report.get("breaks"):
        sys.exit(1)
