"""Process-wide observability set-up, once per process (serving role or CLI)."""

from __future__ import annotations

import sys

from core.config import Settings
from core.observability.logging import configure_logging
from core.observability.tracing import configure_tracing


def configure_process(role: str, settings: Settings, *, cli: bool = False) -> None:
    """Serving roles log JSON to stdout; CLI commands to stderr, keeping stdout for --json.

    Tracing (and the database/Redis/httpx instrumentation) is installed before any client is
    opened: PyMongo reads its command listeners when a client is created.
    """
    configure_logging(role, settings.log_level, stream=sys.stderr if cli else sys.stdout)
    configure_tracing(role, settings)
