"""`gateway functions [--json]`: every function and job with role, method, path and module."""

from __future__ import annotations

import click

from core.cli.output import emit
from core.registry import discover_functions, discover_jobs


def catalogue() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for spec in discover_functions():
        for method in spec.methods:
            rows.append(
                {
                    "name": spec.name,
                    "kind": "function",
                    "role": spec.roles[0] if len(spec.roles) == 1 else "all",
                    "roles": list(spec.roles),
                    "method": method,
                    "path": spec.path,
                    "module": spec.module,
                }
            )
    for job in discover_jobs():
        rows.append({"name": job.name, "kind": "job", "role": "worker", "cron": job.cron, "module": job.module})
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="one JSON list on stdout")
def functions(as_json: bool) -> None:
    """List every function and job."""
    rows = catalogue()
    if as_json:
        emit(rows, True)
        return
    for row in rows:
        if row["kind"] == "function":
            where = f"{row['method']} {row['path']}"
        else:
            where = f"cron {row['cron']}" if row["cron"] else "on demand"
        click.echo(f"{row['name']:<32} {row['kind']:<9} {row['role']:<9} {where:<40} {row['module']}")
