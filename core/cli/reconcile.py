"""`gateway reconcile`: check a UTC day's transactions against the ledger (docs/settlement.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.command()
@click.option("--date", "day", default=None, help="the UTC day, YYYY-MM-DD (default: yesterday)")
@click.option("--json", "as_json", is_flag=True)
def reconcile(day: str | None, as_json: bool) -> None:
    """Reconcile and store the day's report; prints it and exits 1 when there are mismatches."""
    from core.errors import ApiError
    from core.reconciliation import reconcile as run_reconciliation
    from core.settlement import previous_utc_day

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        return await run_reconciliation(res, day or previous_utc_day())

    try:
        report = run_with_resources(settings, work)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    emit(report, as_json)
    if report["mismatches"]:
        sys.exit(1)
