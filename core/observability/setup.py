"""Process-wide observability set-up, once per process (serving role or CLI)."""

from __future__ import annotations

import sys

from core.config import Settings
from core.observability.logging import configure_logging


def configure_process(role: str, settings: Settings, *, cli: bool = False) -> None:
    """Serving roles log JSON to stdout; CLI commands to stderr, keeping stdout for --json."""
    configure_logging(role, settings.log_level, stream=sys.stderr if cli else sys.stdout)
