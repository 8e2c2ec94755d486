"""The webhook signature (§4.7): `v1=` + hex HMAC-SHA256(webhook_secret, timestamp + "." + raw_body).

The secret is used as the UTF-8 bytes of the string shown to the merchant. docs/webhooks.md
carries a standalone copy of `verify_webhook` for merchants; the tests check the two agree.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def sign_webhook(secret: str, timestamp: int | str, raw_body: bytes) -> str:
    """`v1=<hex>` for `raw_body` sent at `timestamp` (integer Unix seconds)."""
    message = str(int(timestamp)).encode() + b"." + raw_body
    return f"{SCHEME}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    secret: str,
    timestamp: str,
    raw_body: bytes,
    signature: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `signature` (the X-Webhook-Signature header) is ours and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        return False
    return hmac.compare_digest(sign_webhook(secret, ts, raw_body), signature.strip())
