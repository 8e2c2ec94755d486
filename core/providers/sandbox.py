"""Adapter for the sandbox PSP (core/sandbox, docs/sandbox.md): maps its states to ours.

Sandbox payin states: created -> paid | failed.
Sandbox payout states: accepted -> completed | failed; completed -> reversed; rejected (at submit).
Sandbox refund states: accepted -> completed | failed; rejected (at submit).

Every answer and callback is read strictly: amount and currency are required (a report is
checked against the transaction before it is applied), unknown statuses are not guessed at.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from core.config import Settings
from core.payments.model import Kind, PayinStatus, PayoutStatus, RefundStatus
from core.providers.base import (
    CallbackEvent,
    InvalidCallbackSignature,
    MalformedCallback,
    PayinRequest,
    PayinResult,
    PayoutRequest,
    PayoutResult,
    PleConfig,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    StatementLine,
)
from core.providers.http import DEFAULT_RETRY_ATTEMPTS, DEFAULT_RETRY_BASE_DELAY, ProviderHttpClient
from core.sandbox.signing import SIGNATURE_HEADER, STATEMENT_COLUMNS, matches, sign_body, sign_request

PAYIN_STATUS = {"created": PayinStatus.PENDING, "paid": PayinStatus.SUCCEEDED, "failed": PayinStatus.FAILED}
PAYOUT_STATUS = {
    "accepted": PayoutStatus.PROCESSING,
    "completed": PayoutStatus.SUCCEEDED,
    "failed": PayoutStatus.FAILED,
    "reversed": PayoutStatus.REVERSED,
    "rejected": PayoutStatus.FAILED,
}
REFUND_STATUS = {
    "accepted": RefundStatus.PROCESSING,
    "completed": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "rejected": RefundStatus.FAILED,
}
STATUS_OF_KIND = {Kind.PAYIN: PAYIN_STATUS, Kind.PAYOUT: PAYOUT_STATUS, Kind.REFUND: REFUND_STATUS}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Frameworks hand headers over in different cases; HTTP header names are case-insensitive.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _money(data: dict[str, Any]) -> tuple[int, str] | None:
    amount, currency = data.get("amount"), data.get("currency")
    if type(amount) is not int or not isinstance(currency, str):
        return None
    return amount, currency


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
        response = await self._client(ple.base_url).request(
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
        if response.status_code == 404 and method == "GET":
            raise ProviderNotFound(f"{operation}: the provider knows no such object")
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            raise ProviderRejected(
                str(error.get("code") or f"http_{response.status_code}"),
                str(error.get("message") or ""),
            )
        return response.status_code, data

    @staticmethod
    def _status(kind: Kind, data: dict[str, Any]) -> tuple[Any, int, str]:
        status = STATUS_OF_KIND[kind].get(data.get("status"))  # type: ignore[call-overload]
        money = _money(data)
        if status is None or money is None:
            raise ProviderUnavailable("bad_response", f"{kind} answer without a known status, amount and currency")
        return status, *money

    def _payin_result(self, data: dict[str, Any]) -> PayinResult:
        status, amount, currency = self._status(Kind.PAYIN, data)
        instructions = data.get("instructions")
        return PayinResult(
            provider_reference=data.get("provider_reference"),
            status=status,
            amount=amount,
            currency=currency,
            payment_url=data.get("payment_url"),
            instructions={str(k): str(v) for k, v in instructions.items()} if isinstance(instructions, dict) else None,
        )

    def _payout_result(self, data: dict[str, Any]) -> PayoutResult:
        status, amount, currency = self._status(Kind.PAYOUT, data)
        return PayoutResult(
            provider_reference=data.get("provider_reference"),
            status=status,
            amount=amount,
            currency=currency,
            failure_code=data.get("failure_code"),
        )

    def _refund_result(self, data: dict[str, Any]) -> RefundResult:
        status, amount, currency = self._status(Kind.REFUND, data)
        return RefundResult(
            provider_reference=data.get("provider_reference"),
            status=status,
            amount=amount,
            currency=currency,
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

    async def create_refund(self, ple: PleConfig, req: RefundRequest) -> RefundResult:
        body = {
            "refund_id": req.refund_id,  # the provider-side idempotency key
            "payin_id": req.payin_id,
            "payin_reference": req.payin_provider_reference,
            "amount": req.amount,
            "currency": req.currency,
        }
        _, data = await self._call(ple, "create_refund", "POST", "/v1/refunds", body, idempotent=False)
        return self._refund_result(data)

    async def refund_status(self, ple: PleConfig, refund_id: str) -> RefundResult:
        path = f"/v1/refunds/{refund_id}"
        _, data = await self._call(ple, "refund_status", "GET", path, None, idempotent=True)
        return self._refund_result(data)

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
        try:
            kind = Kind(data.get("object"))
        except ValueError:
            raise MalformedCallback("object must be payin, payout or refund") from None
        event_id, object_id = data.get("event_id"), data.get("object_id")
        if not isinstance(event_id, str) or not isinstance(object_id, str) or not event_id or not object_id:
            raise MalformedCallback("event_id and object_id are required")
        status = STATUS_OF_KIND[kind].get(data.get("status"))  # type: ignore[call-overload]
        if status is None:
            raise MalformedCallback(f"unknown {kind} status")
        money = _money(data)
        if money is None:
            raise MalformedCallback("amount (integer minor units) and currency are required")
        reference = data.get("provider_reference")
        return CallbackEvent(
            event_id=event_id,
            kind=kind,
            object_id=object_id,
            provider_reference=reference if isinstance(reference, str) else None,
            status=status,
            amount=money[0],
            currency=money[1],
            occurred_at=_parse_time(data.get("occurred_at")),
            raw=data,
        )

    async def fetch_statement(self, ple: PleConfig, day: date) -> list[StatementLine]:
        path = f"/v1/statements/{day.isoformat()}"
        signed_path = urlsplit(ple.base_url).path.rstrip("/") + path
        headers = {SIGNATURE_HEADER: sign_request(ple.secret, "GET", signed_path, b"")}
        response = await self._client(ple.base_url).request("statement", "GET", path, headers=headers, idempotent=True)
        if response.status_code != 200:
            raise ProviderUnavailable("bad_response", f"statement answered HTTP {response.status_code}")
        return parse_statement(response.text)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def parse_statement(text: str) -> list[StatementLine]:
    """The sandbox's statement CSV, read strictly: a wrong header or an unreadable line makes the
    whole statement unusable (a partial statement would report false breaks)."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != STATEMENT_COLUMNS:
        raise ProviderUnavailable("bad_response", "statement header differs from the documented columns")
    lines = []
    for row in reader:
        try:
            kind = Kind(row["type"])
            amount, fee = int(row["amount"]), int(row["fee"])
        except (ValueError, TypeError):
            raise ProviderUnavailable("bad_response", f"statement line {reader.line_num} is malformed") from None
        lines.append(
            StatementLine(
                kind=kind,
                provider_reference=row["provider_reference"] or None,
                our_reference=row["our_reference"],
                amount=amount,
                currency=row["currency"],
                fee=fee,
                occurred_at=_parse_time(row["occurred_at"]),
            )
        )
    return lines
