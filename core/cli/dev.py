"""`gateway services` and `gateway dev`: local development on one machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click

from core.cli.output import cli_settings


def prepare_local() -> None:
    """Start missing services, create the database, apply migrations."""
    from core import local_services as ls

    settings = cli_settings()
    ls.ensure_postgres(settings.database_url)
    ls.ensure_redis(settings.redis_url)
    ls.ensure_mongo(settings.mongo_url)
    ls.ensure_database(settings.database_url)
    subprocess.run([sys.executable, "-m", "core", "migrate"], check=True)


@click.command()
def services() -> None:
    """Make PostgreSQL, Redis and the MongoDB-compatible server answer; migrate."""
    prepare_local()
    click.echo("services ready", err=True)


@click.command()
@click.option("--port", type=int, default=8000, show_default=True)
def dev(port: int) -> None:
    """Everything for local development: services, migrations, demo data, all roles + sandbox."""
    os.environ.setdefault("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
    prepare_local()
    children = []
    try:
        from core.cli.dev_seed import seed_and_start_extras

        children += seed_and_start_extras(port)
    except ImportError:
        pass
    children.append(subprocess.Popen([sys.executable, "-m", "core", "serve", "--role", "all", "--port", str(port)]))
    click.echo(f"gateway (all roles) on http://127.0.0.1:{port}  (Ctrl-C stops)", err=True)
    try:
        children[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.send_signal(signal.SIGINT)
        for child in children:
            child.wait(timeout=10)
