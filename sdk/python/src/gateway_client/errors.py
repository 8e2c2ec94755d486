"""What the SDK raises. Every exception derives from `GatewayError`."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every exception the SDK raises."""


class ApiError(GatewayError):
    """The gateway answered with an error (ARCHITECTURE §4.2 shape), after any retries.

    `code` is one of the documented error codes (`validation_error`, `not_found`,
    `duplicate_reference`, ...); an answer that is not the gateway's error shape (a proxy's own
    page, say) has code `unexpected_response`. `body` is the whole `error` object as sent, so
    extra fields such as `existing_id` of a `duplicate_reference` are there too.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (param: {param})" if param else ""))
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.request_id = request_id
        self.body: dict[str, Any] = body or {}

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r}, "
            f"param={self.param!r}, request_id={self.request_id!r})"
        )


class ApiConnectionError(GatewayError):
    """No answer from the gateway (connection refused or dropped, timeout) after every retry.

    For a POST the outcome is unknown: send it again with the same `idempotency_key` and the
    gateway answers with the object it created, or creates it once.
    """


class WebhookVerificationError(GatewayError):
    """A webhook whose signature, timestamp or body does not verify: answer it with 400."""
