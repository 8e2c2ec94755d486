"""`gateway`: the one entrypoint. Each command lives in its own module, registered here.

`gateway --help` imports none of them: the listing is drawn from the help text kept beside each
entry below (tests/unit/test_cli_lazy.py keeps it equal to each command's own docstring), so the
top-level help starts in a fraction of the time importing Litestar, Piccolo and the functions takes.
"""

from __future__ import annotations

import importlib

import click

# name -> ("module:attribute" of the click command, the first paragraph of its help).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "core.cli.serve:serve",
        "Serve ROLE until stopped (the worker serves health and metrics on --port).",
    ),
    "functions": ("core.cli.functions:functions", "List every function and job."),
    "invoke": (
        "core.cli.invoke:invoke",
        "Run function NAME once through the full middleware stack and print the answer as JSON.",
    ),
    "invoke-job": (
        "core.cli.invoke:invoke_job",
        'Run job NAME once, with a real context, and print {"result": ...}.',
    ),
    "migrate": ("core.cli.migrate:migrate", "Idempotent: applies only what is missing."),
    "dev": (
        "core.cli.dev:dev",
        "Everything for local development: services, migrations, demo data, all roles + sandbox.",
    ),
    "services": (
        "core.cli.dev:services",
        "Make PostgreSQL, Redis and the MongoDB-compatible server answer; migrate.",
    ),
    "sandbox": ("core.cli.sandbox:sandbox", "Serve the sandbox PSP simulator until stopped (docs/sandbox.md)."),
    "merchant": ("core.cli.merchant:merchant", "Create merchants and credit their balances."),
    "admin": ("core.cli.admin:admin", "Admin API access."),
    "secrets": ("core.cli.secrets:secrets", "Stored secrets."),
    "ple": ("core.cli.ple:ple", "Provider legal entities."),
    "audit": ("core.cli.audit:audit", "The audit log in MongoDB."),
    "ledger": ("core.cli.ledger:ledger", "Operate the double-entry ledger."),
    "user": ("core.cli.user:user", "Dashboard users."),
    "settle": (
        "core.cli.settle:settle",
        "Settle a PLE's provider fees of one UTC day; skipped when that day is already settled.",
    ),
    "settlement-report": (
        "core.cli.settle:settlement_report",
        "Print the CSV of the transactions a PLE's settlement of that day covers.",
    ),
    "reconcile": (
        "core.cli.reconcile:reconcile",
        "Reconcile and store the day's report; prints it and exits 1 when it has mismatches or breaks.",
    ),
}


class LazyGroup(click.Group):
    """Imports a command only when it runs (or its own --help is asked for)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr = entry[0].split(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout, from the kept help text instead of the imported commands.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        listed = {name: click.Command(name, help=COMMANDS[name][1]) for name in names}
        rows = [(name, listed[name].get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Payment gateway: serve a role, run jobs and functions, operate the ledger."""
