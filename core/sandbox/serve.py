"""Serve the sandbox under Granian: the click command behind `gateway sandbox` and
`python -m core.sandbox`."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import click

from core.sandbox.options import DEFAULT_CALLBACK_URL, DEFAULT_PORT, SandboxOptions


def serve(options: SandboxOptions) -> None:
    """Run Granian with one worker; the worker's app factory reads the options from env."""
    from granian import Granian
    from granian.constants import Interfaces

    from core.cli.serve import STOP_TIMEOUT_SECONDS

    # One worker on purpose: the state is in memory, so a second worker would split the counters.
    os.environ.update(options.to_env())
    Granian(
        "core.sandbox.app:create_app",
        address=options.host,
        port=options.port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_access=False,
        # A slow answer in flight (--latency-ms) kept it alive past Ctrl-C: bounded like the roles.
        workers_kill_timeout=STOP_TIMEOUT_SECONDS,
    ).serve()


def _settings_default(name: str, fallback: object) -> object:
    # Settings are read lazily so `--help` works even when unrelated variables are malformed.
    from core.config import load_settings

    try:
        return getattr(load_settings(), name)
    except Exception:
        return fallback


def _default_port() -> int:
    if os.environ.get("SANDBOX_PORT"):
        return int(os.environ["SANDBOX_PORT"])
    url = str(_settings_default("sandbox_url", ""))
    return urlsplit(url).port or DEFAULT_PORT


def _env(name: str, fallback: object) -> object:
    return os.environ.get(name) or fallback


@click.command("sandbox")
@click.option("--host", default=lambda: _env("SANDBOX_HOST", "127.0.0.1"), help="address to bind")
@click.option("--port", type=int, default=_default_port, help="[env SANDBOX_PORT; 8400]")
@click.option(
    "--callback-url",
    default=lambda: _env("SANDBOX_CALLBACK_URL", DEFAULT_CALLBACK_URL),
    help="where callbacks are POSTed [env SANDBOX_CALLBACK_URL]",
)
@click.option(
    "--secret",
    default=lambda: _env("SANDBOX_SECRET", _settings_default("sandbox_secret", "")),
    help="shared HMAC secret (the PLE's secret) [env SANDBOX_SECRET]",
)
@click.option(
    "--delay-seconds",
    type=float,
    default=lambda: _env("SANDBOX_DELAY_SECONDS", _settings_default("sandbox_delay_seconds", 2.0)),
    help="seconds before a payin/payout settles [env SANDBOX_DELAY_SECONDS]",
)
@click.option("--latency-ms", type=int, default=lambda: _env("SANDBOX_LATENCY_MS", 0))
@click.option("--error-rate", type=float, default=lambda: _env("SANDBOX_ERROR_RATE", 0.0))
@click.option("--drop-callback-rate", type=float, default=lambda: _env("SANDBOX_DROP_CALLBACK_RATE", 0.0))
@click.option("--callback-attempts", type=int, default=lambda: _env("SANDBOX_CALLBACK_ATTEMPTS", 5))
@click.option(
    "--callback-retry-base-seconds",
    type=float,
    default=lambda: _env("SANDBOX_CALLBACK_RETRY_BASE_SECONDS", 0.5),
)
@click.option(
    "--slow-create-rate",
    type=float,
    default=lambda: _env("SANDBOX_SLOW_CREATE_RATE", 0.0),
    help="share (0-1) of creates answered --slow-create-ms late, after acting",
)
@click.option("--slow-create-ms", type=int, default=lambda: _env("SANDBOX_SLOW_CREATE_MS", 0))
@click.option(
    "--error-after-rate",
    type=float,
    default=lambda: _env("SANDBOX_ERROR_AFTER_RATE", 0.0),
    help="share (0-1) of creates answered 503 although the object was made",
)
def sandbox(**kwargs: object) -> None:
    """Serve the sandbox PSP simulator until stopped (docs/sandbox.md)."""
    try:
        options = SandboxOptions(**kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(
        f"sandbox on http://{options.host}:{options.port} callbacks -> {options.callback_url}",
        err=True,
    )
    serve(options)
