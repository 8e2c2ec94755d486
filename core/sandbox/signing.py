"""Signatures shared by the sandbox and its adapter, in one place so both sides agree."""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Sandbox-Signature"


def sign_body(secret: str, raw_body: bytes) -> str:
    """Callbacks (sandbox -> gateway): hex HMAC-SHA256(secret, raw_body)."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def sign_request(secret: str, method: str, path: str, raw_body: bytes) -> str:
    """API calls (gateway -> sandbox): hex HMAC-SHA256(secret, "METHOD PATH\\n" + raw_body).

    The method and path are signed too so a signed status query cannot be replayed against
    another object (a GET has an empty body).
    """
    message = f"{method.upper()} {path}\n".encode() + raw_body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


_HEX64 = re.compile(r"[0-9a-f]{64}")


def matches(expected: str, given: str | None) -> bool:
    """`given` is exactly 64 lowercase hex characters and equals `expected` (constant time).

    Anything else (missing, upper case, padded, non-ASCII) is simply not a match: compare_digest
    raises TypeError on non-ASCII text, which once answered 500 instead of 401.
    """
    if given is None or _HEX64.fullmatch(given) is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


# The daily statement's CSV header, in order: what the sandbox writes and its adapter requires.
# `our_reference` is the gateway's payin/payout/refund id; `fee` is what the provider charged for it.
STATEMENT_COLUMNS = ("type", "provider_reference", "our_reference", "amount", "currency", "fee", "occurred_at")
