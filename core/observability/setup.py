"""Process-wide observability set-up, once per process (serving role or CLI)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.config import ConfigError, Settings
from core.observability.logging import configure_logging
from core.observability.tracing import configure_tracing


def configure_process(role: str, settings: Settings, *, cli: bool = False) -> None:
    """Serving roles log JSON to stdout; CLI commands to stderr, keeping stdout for --json.

    Tracing (and the database/Redis/httpx instrumentation) is installed before any client is
    opened: PyMongo reads its command listeners when a client is created.
    """
    configure_logging(role, settings.log_level, stream=sys.stderr if cli else sys.stdout)
    load_secret_env_files()
    configure_tracing(role, settings)


# Variables read by libraries from the environment itself (the OTLP exporter builds its
# credentials header from this one): in containers they come from a compose secret file.
LIBRARY_SECRET_VARIABLES = ("OTEL_EXPORTER_OTLP_HEADERS",)


def load_secret_env_files(environ: dict[str, str] | None = None) -> None:
    """VAR from the file VAR_FILE names, for variables a library reads on its own."""
    env = os.environ if environ is None else environ
    for var in LIBRARY_SECRET_VARIABLES:
        path = env.get(f"{var}_FILE")
        if path is None:
            continue
        if env.get(var) is not None:
            raise ConfigError(var, f"and {var}_FILE are both set: set only one")
        try:
            env[var] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{var}_FILE", f"names {path!r}, which cannot be read ({type(exc).__name__})") from None
