"""`gateway`: the one entrypoint. Each command lives in its own module, registered here."""

from __future__ import annotations

import importlib

import click

# Explicit registration: module name -> the click command object it exports.
COMMANDS = {
    "serve": "core.cli.serve:serve",
    "functions": "core.cli.functions:functions",
    "invoke": "core.cli.invoke:invoke",
    "invoke-job": "core.cli.invoke:invoke_job",
    "migrate": "core.cli.migrate:migrate",
    "dev": "core.cli.dev:dev",
    "services": "core.cli.dev:services",
    "sandbox": "core.cli.sandbox:sandbox",
    "merchant": "core.cli.merchant:merchant",
    "admin": "core.cli.admin:admin",
    "secrets": "core.cli.secrets:secrets",
    "ple": "core.cli.ple:ple",
    "audit": "core.cli.audit:audit",
    "ledger": "core.cli.ledger:ledger",
    "user": "core.cli.user:user",
    "settle": "core.cli.settle:settle",
    "settlement-report": "core.cli.settle:settlement_report",
    "reconcile": "core.cli.reconcile:reconcile",
}


class LazyGroup(click.Group):
    """Imports a command only when it runs, so `gateway --help` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Payment gateway: serve a role, run jobs and functions, operate the ledger."""
