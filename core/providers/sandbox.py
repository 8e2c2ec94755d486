"""Adapter for the sandbox PSP (core/sandbox, docs/sandbox.md): maps its states to ours.

Sandbox payin states: created -> paid | failed.
Sandbox payout states: accepted -> completed | failed; completed -> reversed; rejected (at submit).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from core.config import Settings
from core.providers.base import (
    CallbackEvent,
    InvalidCallbackSignature,
    MalformedCallback,
    PayinRequest,
    PayinResult,
    PayoutRequest,
    PayoutResult,
    PleConfig,
    ProviderRejected,
    ProviderUnavailable,
)
from core.providers.http import DEFAULT_RETRY_ATTEMPTS, DEFAULT_RETRY_BASE_DELAY, ProviderHttpClient
from core.sandbox.signing import SIGNATURE_HEADER, matches, sign_body, sign_request

PAYIN_STATUS = {"created": "pending", "paid": "succeeded", "failed": "failed"}
PAYOUT_STATUS = {
    "accepted": "processing",
    "completed": "succeeded",
    "failed": "failed",
    "reversed": "reversed",
    "rejected": "failed",
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Frameworks hand headers over in different cases; HTTP header names are case-insensitive.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class SandboxAdapter:
    code = "sandbox"

    def __init__(
        self,
        settings: Settings,
        *,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
    ) -> None:
        self._settings = settings
        self._retry_attempts = retry_attempts
        self._retry_base_delay = retry_base_delay
        self._clients: dict[str, ProviderHttpClient] = {}

    def _client(self, base_url: str) -> ProviderHttpClient:
        # One pooled client per base URL: PLEs of the same provider may point at different hosts.
        client = self._clients.get(base_url)
        if client is None:
            client = ProviderHttpClient(
                self.code,
                base_url,
                connect_timeout=self._settings.provider_connect_timeout_seconds,
                read_timeout=self._settings.provider_read_timeout_seconds,
                retry_attempts=self._retry_attempts,
                retry_base_delay=self._retry_base_delay,
            )
            self._clients[base_url] = client
        return client

    async def _call(
        self,
        ple: PleConfig,
        operation: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        idempotent: bool,
    ) -> tuple[int, dict[str, Any]]:
        raw = orjson.dumps(body) if body is not None else b""
        # The sandbox verifies the decoded path as its server sees it, prefix included.
        signed_path = urlsplit(ple.base_url).path.rstrip("/") + path
        headers = {
            SIGNATURE_HEADER: sign_request(ple.secret, method, signed_path, raw),
            "Content-Type": "application/json",
        }
        response: httpx.Response = await self._client(ple.base_url).request(
            operation,
            method,
            quote(path),
            content=raw or None,
            headers=headers,
            idempotent=idempotent,
        )
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            if response.status_code < 400:
                raise ProviderUnavailable("bad_response", "body is not a JSON object")
            data = {}
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            raise ProviderRejected(
                str(error.get("code") or f"http_{response.status_code}"),
                str(error.get("message") or ""),
            )
        return response.status_code, data

    @staticmethod
    def _payin_result(data: dict[str, Any]) -> PayinResult:
        status = PAYIN_STATUS.get(data.get("status"))  # type: ignore[arg-type]
        if status is None:
            raise ProviderUnavailable("bad_response", "unknown payin status")
        return PayinResult(
            provider_reference=data.get("provider_reference"),
            status=status,  # type: ignore[arg-type]
            payment_url=data.get("payment_url"),
            instructions=data.get("instructions"),
        )

    @staticmethod
    def _payout_result(data: dict[str, Any]) -> PayoutResult:
        status = PAYOUT_STATUS.get(data.get("status"))  # type: ignore[arg-type]
        if status is None:
            raise ProviderUnavailable("bad_response", "unknown payout status")
        return PayoutResult(
            provider_reference=data.get("provider_reference"),
            status=status,  # type: ignore[arg-type]
            failure_code=data.get("failure_code"),
        )

    async def create_payin(self, ple: PleConfig, req: PayinRequest) -> PayinResult:
        body = {
            "payin_id": req.payin_id,
            "amount": req.amount,
            "currency": req.currency,
            "method": req.method,
            "customer": req.customer,
            "expires_at": req.expires_at.isoformat(),
            "return_url": req.return_url,
        }
        _, data = await self._call(ple, "create_payin", "POST", "/v1/payins", body, idempotent=False)
        return self._payin_result(data)

    async def payin_status(self, ple: PleConfig, payin_id: str) -> PayinResult:
        path = f"/v1/payins/{payin_id}"
        _, data = await self._call(ple, "payin_status", "GET", path, None, idempotent=True)
        return self._payin_result(data)

    async def create_payout(self, ple: PleConfig, req: PayoutRequest) -> PayoutResult:
        body = {
            "payout_id": req.payout_id,  # the provider-side idempotency key
            "amount": req.amount,
            "currency": req.currency,
            "mode": req.mode,
            "beneficiary": req.beneficiary,
            "narration": req.narration,
        }
        _, data = await self._call(ple, "create_payout", "POST", "/v1/payouts", body, idempotent=False)
        return self._payout_result(data)

    async def payout_status(self, ple: PleConfig, payout_id: str) -> PayoutResult:
        path = f"/v1/payouts/{payout_id}"
        _, data = await self._call(ple, "payout_status", "GET", path, None, idempotent=True)
        return self._payout_result(data)

    def verify_callback(self, secret: str, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent:
        # Verify before parsing: nothing of an unauthenticated body is trusted or interpreted.
        if not matches(sign_body(secret, raw_body), _header(headers, SIGNATURE_HEADER)):
            raise InvalidCallbackSignature("X-Sandbox-Signature missing or invalid")
        try:
            data = orjson.loads(raw_body)
        except orjson.JSONDecodeError:
            raise MalformedCallback("body is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedCallback("body is not a JSON object")
        kind = data.get("object")
        mapping = {"payin": PAYIN_STATUS, "payout": PAYOUT_STATUS}.get(kind)  # type: ignore[arg-type]
        event_id, object_id = data.get("event_id"), data.get("object_id")
        if mapping is None or not isinstance(event_id, str) or not isinstance(object_id, str):
            raise MalformedCallback("object, event_id and object_id are required")
        status = mapping.get(data.get("status"))  # type: ignore[arg-type]
        if status is None:
            raise MalformedCallback(f"unknown {kind} status")
        reference = data.get("provider_reference")
        return CallbackEvent(
            event_id=event_id,
            kind=kind,  # type: ignore[arg-type]
            object_id=object_id,
            provider_reference=reference if isinstance(reference, str) else None,
            status=status,
            occurred_at=_parse_time(data.get("occurred_at")),
            raw=data,
        )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
