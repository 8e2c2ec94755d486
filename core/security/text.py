"""Strict text fields of admin and merchant management (§4.2): no control characters, ever.

`R` and `R\\n` must never be two references: Python's `$` matches before a final newline, so
every pattern here is applied with `fullmatch`, and every free-text field refuses control
characters outright instead of stripping them. Refused: Unicode category Cc (C0, DEL, C1), the
line and paragraph separators, and the bidirectional overrides and isolates that make text
display differently from what it is ("Trojan Source"). Zero-width joiners stay allowed: Indic
names need them.
"""

from __future__ import annotations

import re

from core.errors import ApiError

REFERENCE = re.compile(r"[A-Za-z0-9._:/\-]{1,64}")
# The refused characters as a regex class (the payments inputs build their patterns from it):
# Cc (C0, DEL, C1), the line and paragraph separators, the bidi embeddings/overrides and isolates.
CONTROL_CLASS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL_CLASS}]")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _bad(param: str, message: str) -> ApiError:
    return ApiError("validation_error", message, param=param)


def check_text(value: object, param: str, max_len: int, *, min_len: int = 1) -> str:
    """A free-text field: a string of min_len..max_len characters, not blank, no control characters."""
    if not isinstance(value, str) or not min_len <= len(value) <= max_len or (min_len and not value.strip()):
        raise _bad(param, f"{param} must be {min_len}-{max_len} characters")
    if has_control_characters(value):
        raise _bad(param, f"{param} must not contain control characters")
    return value


def check_reference(value: object, param: str = "reference") -> str:
    """A caller's reference: 1-64 of letters, digits and . _ : / -, the whole string."""
    if not isinstance(value, str) or REFERENCE.fullmatch(value) is None:
        raise _bad(param, f"{param} must be 1-64 characters of letters, digits and . _ : / -")
    return value


def check_url_text(value: object, param: str, max_len: int = 2048) -> str:
    """A URL as typed: no control characters (urllib silently drops tabs and newlines, so the URL
    checked would not be the URL stored) and no spaces."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise _bad(param, f"{param} must be 1-{max_len} characters")
    if has_control_characters(value) or any(ch.isspace() for ch in value):
        raise _bad(param, f"{param} must not contain spaces or control characters")
    return value
