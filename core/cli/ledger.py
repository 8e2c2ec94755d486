"""`gateway ledger ...`: operate the double-entry ledger (ARCHITECTURE §11)."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.cli.output import cli_settings, emit, run_with_resources


@click.group()
def ledger() -> None:
    """Operate the double-entry ledger."""


@ledger.command()
@click.option("--json", "as_json", is_flag=True)
def verify(as_json: bool) -> None:
    """Prove every entry balances, cached balances equal posting sums, no merchant is negative.

    Prints {"ok": true, "problems": []}; exits 1 when a problem is found, each naming its entry
    or account."""
    from core.ledger import verify_ledger

    settings = cli_settings()

    async def work(resources: Any) -> list[dict[str, Any]]:
        return await verify_ledger(resources.db)

    problems = run_with_resources(settings, work)
    emit({"ok": not problems, "problems": problems}, as_json)
    if problems:
        sys.exit(1)
