"""`gateway serve --role ROLE [--port P] [--workers N]`: one role under Granian.

One worker process by default (scale by replicas); `--workers N` runs N processes behind one
port, their metrics summed by prometheus-client's multiprocess mode (docs/metrics.md).
"""

from __future__ import annotations

import os
import sys
import tempfile

import click

from core.config import SERVE_ROLES
from core.registry import DiscoveryError, discover_functions, discover_jobs

# Every process stops within 5 s of SIGTERM (compose stop, Ctrl-C on `just dev`): Granian waits
# for in-flight requests and the app's shutdown (saq waits its whole grace period even when
# idle), so after this many seconds it kills the worker process. Jobs are idempotent and retried;
# a cut-off request is one the client retries.
STOP_TIMEOUT_SECONDS = 3


@click.command()
@click.option("--role", type=click.Choice(SERVE_ROLES), envvar="ROLE", default="all", show_default=True)
@click.option("--port", type=int, envvar="PORT", default=8000, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    envvar="WORKERS",
    default=1,
    show_default=True,
    help="processes serving this role [env WORKERS]; one scrape of /metrics counts them all",
)
def serve(role: str, port: int, host: str, workers: int) -> None:
    """Serve ROLE until stopped (the worker serves health and metrics on --port)."""
    from core.observability import multiproc

    # Before anything imports prometheus_client: every worker process writes its samples here and
    # /metrics sums them. Emptied at start, so counts of an earlier run are not summed again.
    own_dir = not os.environ.get(multiproc.ENV)
    metrics_dir = os.environ.get(multiproc.ENV) or tempfile.mkdtemp(prefix="gateway-metrics-")
    multiproc.prepare(metrics_dir)
    os.environ[multiproc.ENV] = metrics_dir

    try:
        from granian import Granian
        from granian.http import HTTP1Settings

        from core.cli.output import cli_settings

        os.environ["ROLE"], os.environ["PORT"] = role, str(port)
        settings = cli_settings(role)  # a config error stops here, naming the variable
        try:  # and so does a broken function or job module, naming the module
            discover_functions()
            discover_jobs()
        except DiscoveryError as exc:
            click.echo(f"start-up stopped: {exc}", err=True)
            sys.exit(2)
        if settings.environment == "production":  # and a PLE with a public secret (issue 17)
            from core.security.dev_secrets import production_start_problem

            problem = production_start_problem(settings.database_url, settings.secrets_master_keys)
            if problem:
                click.echo(f"start-up stopped: {problem}", err=True)
                sys.exit(2)
        server = Granian(
            "core.http.app:app_from_env",
            factory=True,
            interface="asgi",
            address=host,
            port=port,
            workers=workers,
            # A worker that crashes is replaced; its counts stay in the role's totals (multiproc).
            respawn_failed_workers=workers > 1,
            log_level="warning",
            workers_kill_timeout=STOP_TIMEOUT_SECONDS,
            # Headers must arrive within 10 s (the body has its own limit, core/http/timeouts.py).
            http1_settings=HTTP1Settings(header_read_timeout=10_000),
        )
        server.serve()
    finally:
        if own_dir:
            multiproc.remove(metrics_dir)
