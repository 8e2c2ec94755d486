"""`Idempotency-Key` on merchant POSTs (§4.3), stored in Redis for 24 h.

The first response (2xx or 4xx) is stored and replayed byte for byte with
`Idempotent-Replayed: true`; the same key with a different body is 422
`idempotency_key_reused`; while the first request still runs, 409 `idempotency_key_in_use`.
A 5xx is not stored, so the merchant's retry runs again. The in-flight marker expires after
`IN_FLIGHT_SECONDS`, so a crashed request does not block its key for a day.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from core.errors import ApiError

TTL_SECONDS = 24 * 3600
IN_FLIGHT_SECONDS = 120


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def idempotency_middleware(app: Any) -> Any:
    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        merchant = scope.get("state", {}).get("merchant")
        if key is None or scope["method"] != "POST" or merchant is None:
            await app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            raise ApiError("validation_error", "Idempotency-Key must be 1-255 characters", param="Idempotency-Key")
        redis = scope["litestar_app"].state.resources.redis
        body = scope.get("state", {}).get("_verified_body", b"")
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()
        store_key = f"gw:idem:{merchant.merchant_id}:{hashlib.sha256(key.encode()).hexdigest()}"
        marker = orjson.dumps({"state": "running", "fingerprint": fingerprint})
        if not await redis.set(store_key, marker, nx=True, ex=IN_FLIGHT_SECONDS):
            stored = orjson.loads(await redis.get(store_key) or b'{"state": "running", "fingerprint": ""}')
            if stored["fingerprint"] != fingerprint:
                raise ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request")
            if stored["state"] == "running":
                raise ApiError("idempotency_key_in_use", "a request with this Idempotency-Key is still running")
            await _replay(stored, send)
            return
        captured: dict[str, Any] = {"body": b""}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [(k.decode(), v.decode()) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            status = captured.get("status", 500)
            if status >= 500:
                await redis.delete(store_key)
            else:
                record = {
                    "state": "done",
                    "fingerprint": fingerprint,
                    "status": status,
                    "headers": [
                        h for h in captured["headers"] if h[0].lower() not in ("x-request-id", "content-length")
                    ],
                    "body": captured["body"].decode("latin-1"),
                }
                await redis.set(store_key, orjson.dumps(record), ex=TTL_SECONDS)

    return middleware


async def _replay(stored: dict[str, Any], send: Any) -> None:
    body = stored["body"].encode("latin-1")
    headers = [(k.encode(), v.encode()) for k, v in stored["headers"]]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
