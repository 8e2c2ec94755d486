"""Request signing (ARCHITECTURE §4.1) and the one-signature-per-second rule."""

from __future__ import annotations

import hashlib
import hmac
import threading


def signature(secret: str, timestamp: int, method: str, path_and_query: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of `timestamp \\n METHOD \\n path_and_query \\n body`."""
    message = b"\n".join([str(timestamp).encode(), method.upper().encode(), path_and_query.encode(), body])
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SecondGuard:
    """Hands out signing timestamps so no two byte-identical requests share a second.

    The gateway refuses the second of two identical requests signed in the same second as a
    replay (§4.1): it is indistinguishable from one request sent twice. So a repeat (a polling
    loop, a retry) is given the next free second, and the caller waits until the clock reaches
    it. The record is process-wide and keyed by API key too, so two clients of one key share it;
    separate processes polling the same object with one key still can collide.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str, str, bytes], int] = {}
        self._pruned_at = 0

    def reserve(self, key_id: str, method: str, path_and_query: str, body: bytes, now: float) -> int:
        """The timestamp to sign with: `int(now)`, or later when that second is already taken."""
        key = (key_id, method, path_and_query, hashlib.sha256(body).digest())
        second = int(now)
        with self._lock:
            if second != self._pruned_at:  # forget seconds that can no longer collide
                self._last = {k: v for k, v in self._last.items() if v >= second}
                self._pruned_at = second
            taken = self._last.get(key)
            stamp = second if taken is None or taken < second else taken + 1
            self._last[key] = stamp
        return stamp


GUARD = SecondGuard()
