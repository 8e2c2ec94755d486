"""The one error shape of the API (ARCHITECTURE §4.2) and the exceptions that produce it."""

from __future__ import annotations

from typing import Any

ERROR_STATUS: dict[str, int] = {
    "invalid_api_key": 401,
    "timestamp_out_of_window": 401,
    "invalid_signature": 401,
    "replayed_request": 401,
    "unauthorized": 401,
    "ip_not_allowed": 403,
    "merchant_suspended": 403,
    "insufficient_scope": 403,  # an admin token without the scope the function declares (docs/decisions.md)
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "duplicate_reference": 409,
    "idempotency_key_in_use": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_error": 422,
    "idempotency_key_reused": 422,
    "insufficient_funds": 422,
    "no_route": 422,
    "refund_exceeds_payin": 422,
    "payin_not_refundable": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "provider_unavailable": 502,
    "not_ready": 503,
}


class ApiError(Exception):
    """An error a client sees: a documented code, a message, optionally the field at fault."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code not in ERROR_STATUS:
            raise ValueError(f"undocumented error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def status_code(self) -> int:
        return ERROR_STATUS[self.code]

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "request_id": request_id}
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def not_found(what: str = "object") -> ApiError:
    return ApiError("not_found", f"no such {what}")


def validation_error(message: str, param: str | None = None) -> ApiError:
    return ApiError("validation_error", message, param=param)
