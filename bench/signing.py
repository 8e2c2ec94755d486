"""Signed merchant requests as raw HTTP/1.1 bytes, each one unique (ARCHITECTURE §4.1).

Replay protection rejects byte-identical requests signed in the same second, so every body
carries its own reference and every request is signed at send time with core.signing, the
same signer the verifier uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson

from core.signing import sign_request


@dataclass(frozen=True)
class Credentials:
    merchant_id: str
    key_id: str
    secret: str = field(repr=False)


def raw_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def signed_request(
    creds: Credentials, method: str, path: str, host: str, body: bytes = b"", timestamp: int | None = None
) -> bytes:
    headers = sign_request(creds.key_id, creds.secret, method, path, body, timestamp)
    return raw_request(method, path, host, headers, body)


def payin_body(n: int, run: str) -> bytes:
    """A payin that the sandbox pays at once (amount % 100 in 00-49), reference unique per n."""
    return orjson.dumps(
        {
            "amount": 10_000 + n % 50,
            "currency": "INR",
            "reference": f"bench-{run}-in-{n}",
            "method": "upi",
            "customer": {"name": "Bench Customer", "email": "bench@example.com"},
        }
    )


def payout_body(n: int, run: str) -> bytes:
    """An IMPS payout the sandbox accepts and settles (amount % 100 in 00-49)."""
    return orjson.dumps(
        {
            "amount": 1_000 + n % 50,
            "currency": "INR",
            "reference": f"bench-{run}-out-{n}",
            "mode": "imps",
            "beneficiary": {"name": "Bench Beneficiary", "account_number": "123456789012", "ifsc": "HDFC0001234"},
        }
    )


def echo_body(n: int, run: str) -> bytes:
    """The smallest signed body: POST /v1/echo answers it back (issue 19's per-request floor)."""
    return orjson.dumps({"message": f"bench-{run}-{n}", "count": n})


def now() -> int:
    return int(time.time())


def refund_body(payin_id: str, n: int, run: str) -> bytes:
    """A partial refund of 1.00 that the sandbox settles (amount % 100 == 00), reference unique per n."""
    return orjson.dumps({"payin_id": payin_id, "amount": 100, "reference": f"bench-{run}-rf-{n}"})
