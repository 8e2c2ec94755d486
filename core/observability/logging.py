"""JSON logs, one object a line, with request context carried in contextvars (structlog)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

# Values of these keys never reach a log line, whatever their nesting.
_SECRET_KEYS = re.compile(
    r"(secret|password|token|signature|authorization|api[_-]?key_secret|account_number|master_key|cookie)",
    re.I,
)
# Long digit runs (account or card numbers) in free text are masked to their last 4 digits.
_LONG_DIGITS = re.compile(r"\b(\d{5,})(\d{4})\b")
_HEX_SIGNATURE = re.compile(r"\b[0-9a-f]{64}\b")


def redact_text(text: str) -> str:
    text = _HEX_SIGNATURE.sub("[redacted-signature]", text)
    return _LONG_DIGITS.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: "[redacted]" if isinstance(k, str) and _SECRET_KEYS.search(k) else _redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, depth + 1) for v in value]
    return value


def redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return _redact(dict(event_dict))  # type: ignore[no-any-return]


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(role: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Serving roles log to stdout; CLI commands pass stderr so --json output stays clean."""
    out = stream or sys.stdout
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.processors.format_exc_info,
            redact_processor,
            structlog.processors.JSONRenderer(serializer=_orjson_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(role=role)
    # Libraries that log through stdlib logging go through the same renderer.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_processor,
                structlog.processors.JSONRenderer(serializer=_orjson_dumps),
            ],
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING if level.upper() == "INFO" else level.upper())


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
