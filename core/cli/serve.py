"""`gateway serve --role ROLE [--port P] [--workers N]`: one role under Granian.

One process by default (scale by replicas): Granian's embedded server runs the app in the process
that built it, so a role is one Python process, not a supervisor plus a worker that each hold the
whole app (issue 19: ≤ 150 MB a role). `--workers N` (N > 1) runs Granian's supervisor with N
worker processes behind one port, their metrics summed by prometheus-client's multiprocess mode
(docs/metrics.md); that supervisor imports click and Granian only, and each worker runs the
start-up checks itself (core/cli/serve_app.py).

Either way start-up stops before serving, exit code 2, on a config error (naming the variable),
a broken function or job module (naming the module) or a production refusal.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import click

# core.config.SERVE_ROLES, repeated so `gateway serve --help` and the supervisor never import
# core.config (it pulls in the storage layer); tests/unit/test_cli_lazy.py keeps the two equal.
SERVE_ROLES = ("api", "payment", "worker", "frontend", "all")
# core.observability.multiproc.ENV: that module imports prometheus_client.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Where a worker process that refused to start writes why (core.cli.serve_app reads the name).
START_PROBLEM_ENV = "GATEWAY_START_PROBLEM_FILE"
# The factory Granian's supervisor loads in each worker: the start-up checks, then the app.
APP_TARGET = "core.cli.serve_app:app_from_env"

# Every process stops within 5 s of SIGTERM (compose stop, Ctrl-C on `just dev`): Granian waits
# for in-flight requests and the app's shutdown (saq waits its whole grace period even when
# idle), so after this many seconds it stops waiting. Jobs are idempotent and retried; a
# cut-off request is one the client retries.
STOP_TIMEOUT_SECONDS = 3


def _empty_metrics_dir(path: str) -> None:
    """core.observability.multiproc.prepare without importing it: files of an earlier run would be summed."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


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
    # Before anything imports prometheus_client: every process writes its samples here and
    # /metrics sums them. Emptied at start, so counts of an earlier run are not summed again.
    own_dir = not os.environ.get(METRICS_DIR_ENV)
    metrics_dir = os.environ.get(METRICS_DIR_ENV) or tempfile.mkdtemp(prefix="gateway-metrics-")
    _empty_metrics_dir(metrics_dir)
    os.environ[METRICS_DIR_ENV] = metrics_dir
    os.environ["ROLE"], os.environ["PORT"] = role, str(port)
    try:
        if workers == 1:
            _serve_in_this_process(host, port, metrics_dir if own_dir else None)
        else:
            _serve_with_supervisor(host, port, workers)
    finally:
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve_in_this_process(host: str, port: int, own_metrics_dir: str | None) -> None:
    """Build the app (its checks exit 2 here, before the port is bound), then serve it in this process."""
    import asyncio
    import logging
    import signal

    from granian.constants import Interfaces
    from granian.errors import FatalError
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.embed import Server

    from core.cli.serve_app import app_from_env

    # Granian configures its logging when the server is made: before the app configures ours,
    # as in a Granian worker process. The app is built outside the event loop (the production
    # check runs one of its own), so the factory is not handed to Granian.
    server = Server(
        None,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        log_level=LogLevels.warning,
        # Headers must arrive within 10 s (the body has its own limit, core/http/timeouts.py).
        http1_settings=HTTP1Settings(header_read_timeout=10_000),
    )
    server.target = app_from_env()
    # Granian labels its embedded server experimental at every start: measured here with the
    # bench (issue 19) and chosen; the line would only teach operators to ignore warnings.
    logging.getLogger("_granian").addFilter(lambda record: "experimental" not in record.getMessage())

    def cut_short() -> None:
        # What Granian's supervisor does to a worker that outlives the timeout (a kill), not a
        # cancellation of the app's shutdown, which logs a traceback for every task it cuts.
        sys.stdout.flush()
        sys.stderr.flush()
        if own_metrics_dir:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
        os._exit(0)

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            if not server.interrupt_signal:
                loop.call_later(STOP_TIMEOUT_SECONDS, cut_short)
            server.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        try:
            await server.serve()
        except FatalError:  # the app's lifespan start-up failed; Granian logged why
            server.interrupt_children.append(0)

    # uvloop, as Granian's own workers pick it (loop "auto"): the embedded server runs on this loop.
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency; plain asyncio still serves
        asyncio.run(run())
    else:
        uvloop.run(run())
    if server.interrupt_children:  # the app stopped by itself: not a clean stop (as Granian's exit 1)
        sys.exit(1)


def _serve_with_supervisor(host: str, port: int, workers: int) -> None:
    """Granian's supervisor and `workers` processes; a worker that refuses to start says why in a file."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    fd, problem_file = tempfile.mkstemp(prefix="gateway-start-")
    os.close(fd)
    os.environ[START_PROBLEM_ENV] = problem_file
    try:
        server = Granian(
            APP_TARGET,
            factory=True,
            interface=Interfaces.ASGI,
            address=host,
            port=port,
            workers=workers,
            # A worker that crashes is replaced; its counts stay in the role's totals (multiproc).
            respawn_failed_workers=True,
            log_level=LogLevels.warning,
            workers_kill_timeout=STOP_TIMEOUT_SECONDS,
            http1_settings=HTTP1Settings(header_read_timeout=10_000),
        )
        try:
            server.serve()
        finally:
            # A worker refused to start and Granian stopped for it: print why once, exit 2.
            with open(problem_file, encoding="utf-8") as problem:
                reason = problem.read().strip()
            if reason:
                click.echo(reason, err=True)
                sys.exit(2)
    finally:
        os.unlink(problem_file)
        os.environ.pop(START_PROBLEM_ENV, None)
