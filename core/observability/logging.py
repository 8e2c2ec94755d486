"""JSON logs, one object a line, with request and trace context carried in contextvars (structlog).

Every line carries `role`, `request_id`, `trace_id` and `span_id` (null when there is none, e.g.
start-up lines), plus `merchant_id`, `payin_id`/`payout_id` and `job` when they are bound. The
redaction step runs last on everything, exception text and tracebacks included
(docs/observability.md explains its rules).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from opentelemetry import trace

# Values of these keys never reach a log line, whatever their nesting.
_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|signature|authorization|api[_-]?key|master[_-]?key|cookie|credential|cvv|csrf)",
    re.I,
)
# Values of these keys keep only their last 4 characters.
_ACCOUNT_KEYS = re.compile(r"(account[_-]?number|card[_-]?number|\bpan\b|iban)", re.I)
# Keys whose values are ours and never secret: left exactly as they are.
# Values the gateway made or verified itself (ids, names of its own functions): nothing to find in
# them, and skipping five expressions per value is a twentieth of a signed request's CPU.
_PLAIN_KEYS = frozenset(
    {
        "trace_id",
        "span_id",
        "traceparent",
        "request_id",
        "role",
        "level",
        "ts",
        "job",
        "function",
        "merchant_id",
        "key_id",
    }
)

# Header or key=value forms inside free text (exception messages, reprs of dicts and requests).
_TEXT_SECRET_PAIR = re.compile(
    r"""(?P<key>(?:x-(?:webhook-)?signature|authorization|[a-z_-]*(?:secret|password|token|signature|api[_-]?key)))"""
    r"""(?P<sep>['"]?\s*[:=]\s*(?:b?['"])?)(?P<value>(?:bearer\s+|basic\s+)?[^\s'";}\]]+)""",
    re.I,
)
_BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)
# Our own secret formats (core.security.crypto.new_secret): sk_…, whsec_…, gwadm_…, pwl_… with 43 chars.
_OWN_SECRET = re.compile(r"\b(?:sk|whsec|gwadm|pwl)_[A-Za-z0-9_-]{20,}")
# HMAC-SHA1/256/512 in hex (a 32-hex trace id is shorter and stays readable).
_HEX_SIGNATURE = re.compile(r"\b(?:v\d=)?[0-9a-fA-F]{40,}\b")
# Account and card numbers: 9 to 19 digits in a row, or card-style groups of 4 separated by single
# spaces or dashes (a date and time like `2026-11-28 02:02` is not one).
_ACCOUNT_NUMBER = re.compile(r"(?<![\w.])(?:\d{9,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?![\w.])")
# A number right after a time-like key (`queued=1764294000000`, `"ts": 1764…`) is a timestamp or
# a duration, not an account number; saq prints its jobs this way.
_TIME_KEY_BEFORE = re.compile(
    r"(?:queued|scheduled|started|completed|touched|ttl|timeout|heartbeat|expires|time|timestamp|ts|at|ms|seconds)"
    r"""['"]?\s*[:=]\s*$""",
    re.I,
)


def mask_last4(text: str) -> str:
    """`123456789012` → `********9012` (separators dropped)."""
    digits = re.sub(r"[^0-9A-Za-z]", "", text)
    return "*" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "****"


def _mask_account(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 24) : match.start()]
    if _TIME_KEY_BEFORE.search(before):
        return match.group(0)
    return mask_last4(match.group(0))


def redact_text(text: str) -> str:
    """Remove secrets, signatures, bearer credentials and full account numbers from free text."""
    text = _TEXT_SECRET_PAIR.sub(lambda m: f"{m.group('key')}{m.group('sep')}[redacted]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    text = _OWN_SECRET.sub("[redacted-secret]", text)
    text = _HEX_SIGNATURE.sub("[redacted-signature]", text)
    return _ACCOUNT_NUMBER.sub(_mask_account, text)


def _redact_pair(key: Any, value: Any, depth: int) -> Any:
    if isinstance(key, str):
        if key in _PLAIN_KEYS:
            return value
        if _SECRET_KEYS.search(key):
            return "[redacted]"
        if _ACCOUNT_KEYS.search(key) and value is not None:
            return mask_last4(str(value))
    return _redact(value, depth + 1)


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return "[too deep]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {k: _redact_pair(k, v, depth) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        # A (name, value) header pair: redact by the name, as for a dict key.
        if len(items) == 2 and isinstance(items[0], str | bytes):
            name = items[0].decode("latin-1") if isinstance(items[0], bytes) else items[0]
            return [name, _redact_pair(name, items[1], depth)]
        return [_redact(v, depth + 1) for v in items]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))  # anything else is rendered as text: redact that text


def redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {k: _redact_pair(k, v, 0) for k, v in event_dict.items()}


def add_trace_context(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """trace_id/span_id of the current span; else those bound in contextvars; else null."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    event_dict.setdefault("trace_id", None)
    event_dict.setdefault("span_id", None)
    event_dict.setdefault("request_id", None)
    return event_dict


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(role: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Serving roles log to stdout; CLI commands pass stderr so --json output stays clean."""
    out = stream or sys.stdout
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_context,
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
                add_trace_context,
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
