"""Prefixed ids sortable by creation time (`pi_`, `po_`, `evt_`, ...), ULID-shaped."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_RAND_LIMIT = 1 << 80
_last = [0, 0]  # the millisecond and random part of this process's latest id
_lock = threading.Lock()


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars: lexical order is creation order.

    Within one process the order holds inside a millisecond too (ULID's monotonic rule: an id made
    in the same millisecond as the one before takes that one's random part plus one), so two ledger
    entries of one transaction posted a moment apart list in the order they were made.
    """
    if now_ms is not None:
        return f"{prefix}_{_encode(now_ms, 10)}{_encode(int.from_bytes(os.urandom(10), 'big'), 16)}"
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last[0] and _last[1] + 1 < _RAND_LIMIT:
            ms, rand = _last[0], _last[1] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # half the space: room to count up
        _last[0], _last[1] = ms, rand
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def id_floor(prefix: str, ms: int) -> str:
    """The smallest id of `prefix` created at `ms`: turns a time bound into an id bound."""
    return f"{prefix}_{_encode(ms, 10)}{'0' * 16}"
