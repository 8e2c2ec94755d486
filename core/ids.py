"""Prefixed ids sortable by creation time (`pi_`, `po_`, `evt_`, ...), ULID-shaped."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars: lexical order is creation order."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def id_floor(prefix: str, ms: int) -> str:
    """The smallest id of `prefix` created at `ms`: turns a time bound into an id bound."""
    return f"{prefix}_{_encode(ms, 10)}{'0' * 16}"
