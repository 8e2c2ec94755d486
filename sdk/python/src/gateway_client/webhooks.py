"""Verify a webhook the gateway sent (ARCHITECTURE §4.7) and read its event."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

import msgspec

from gateway_client.errors import WebhookVerificationError
from gateway_client.models import Event

__all__ = ["verify"]


def verify(raw_body: bytes | str, headers: Mapping[str, str], secret: str, tolerance: int = 300) -> Event:
    """The event of a webhook signed with `secret` less than `tolerance` seconds ago.

    `raw_body` must be the body exactly as received (parsing and re-serialising changes the
    bytes); `headers` is any mapping of the request's headers, names in any case. Raises
    `WebhookVerificationError` when a header is missing, the timestamp is outside the tolerance
    (a replayed capture), the signature does not match, or the body is not an event.
    """
    body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    found = {name.lower(): value for name, value in headers.items()}
    timestamp = found.get("x-webhook-timestamp", "")
    signatures = found.get("x-webhook-signature", "")
    if not timestamp or not signatures:
        raise WebhookVerificationError("X-Webhook-Timestamp or X-Webhook-Signature is missing")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookVerificationError("X-Webhook-Timestamp is not integer seconds")
    if abs(time.time() - int(timestamp)) > tolerance:
        raise WebhookVerificationError("the webhook's timestamp is outside the tolerance")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    # A header may carry several `v1=` signatures (space- or comma-separated); one match suffices.
    offered = [part[3:] for part in signatures.replace(",", " ").split() if part.startswith("v1=")]
    if not any(hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace")) for candidate in offered):
        raise WebhookVerificationError("the webhook's signature does not match")
    try:
        return msgspec.json.decode(body, type=Event)
    except msgspec.DecodeError as exc:
        raise WebhookVerificationError(f"the verified body is not an event: {exc}") from exc
