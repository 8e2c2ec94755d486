"""`gateway settle` and `gateway settlement-report`: provider fee settlement (ARCHITECTURE §11)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.command()
@click.option("--ple", "ple_id", required=True, help="the PLE id")
@click.option("--date", "day", required=True, help="the UTC day, YYYY-MM-DD")
@click.option(
    "--allow-open-day",
    is_flag=True,
    help="settle today before it ends (fees accrued later today will not be settled)",
)
@click.option("--json", "as_json", is_flag=True)
def settle(ple_id: str, day: str, allow_open_day: bool, as_json: bool) -> None:
    """Settle a PLE's provider fees of one UTC day; skipped when that day is already settled.

    Prints {"settlement_id", "skipped", "total", "statement_fees", "fee_difference"}: the provider's
    statement fees of the day and their difference from the total (null when it cannot be read)."""
    from core.errors import ApiError
    from core.settlement import settle_ple_fees

    settings = cli_settings()

    async def work(res: Any) -> dict[str, Any]:
        done = await settle_ple_fees(res, ple_id, day, actor="cli", allow_open_day=allow_open_day)
        shown = {k: done[k] for k in ("skipped", "total", "statement_fees", "fee_difference")}
        return {"settlement_id": done["id"], **shown}

    try:
        emit(run_with_resources(settings, work), as_json)
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@click.command("settlement-report")
@click.option("--ple", "ple_id", required=True, help="the PLE id")
@click.option("--date", "day", required=True, help="the UTC day, YYYY-MM-DD")
def settlement_report(ple_id: str, day: str) -> None:
    """Print the CSV of the transactions a PLE's settlement of that day covers."""
    from core.errors import ApiError
    from core.settlement import report_csv, settlement_report_rows

    settings = cli_settings()

    async def work(res: Any) -> str:
        return report_csv(await settlement_report_rows(res, ple_id, day))

    try:
        sys.stdout.write(run_with_resources(settings, work))
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
