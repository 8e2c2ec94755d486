"""The reference signer of merchant requests (ARCHITECTURE §4.1), used by `gateway invoke`,
the tests and docs/signing.md. The verifier in core/security uses `string_to_sign` too, so the
two can never disagree."""

from __future__ import annotations

import hashlib
import hmac
import time

from core.storage.postgres import Handle


def string_to_sign(timestamp: str, method: str, path_and_query: str, body: bytes) -> bytes:
    return b"\n".join([timestamp.encode(), method.upper().encode(), path_and_query.encode(), body])


def signature(secret: str, timestamp: str, method: str, path_and_query: str, body: bytes) -> str:
    message = string_to_sign(timestamp, method, path_and_query, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_request(
    key_id: str,
    secret: str,
    method: str,
    path_and_query: str,
    body: bytes = b"",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three headers a merchant sends: X-Api-Key, X-Timestamp, X-Signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Api-Key": key_id,
        "X-Timestamp": ts,
        "X-Signature": signature(secret, ts, method, path_and_query, body),
    }


async def sign_for_merchant(
    db: Handle, settings_spec: str, merchant_id: str, method: str, path_and_query: str, body: bytes
) -> dict[str, str]:
    """Sign as `merchant_id` with its newest active key (used by `gateway invoke`)."""
    from core.merchants.store import newest_active_key
    from core.security.crypto import keyring_for

    key = await newest_active_key(db, merchant_id)
    if key is None:
        raise LookupError(f"merchant {merchant_id} has no active API key")
    secret = keyring_for(settings_spec).decrypt(key["secret_enc"], f"api_keys:{key['id']}")
    return sign_request(key["id"], secret, method, path_and_query, body)
