"""Every failure leaves as the §4.2 error shape; nothing leaks a stack trace or a detail."""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)

from core.errors import ApiError
from core.http.context import current_request_id
from core.http.timeouts import BodyReadTimeoutError
from core.observability.metrics import HTTP_ERRORS

log = structlog.get_logger("http")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_STATUS_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(request: Request[Any, Any, Any] | None, error: ApiError) -> Response[Any]:
    function = _function_name(request)
    HTTP_ERRORS.add(1, {"function": function, "code": error.code})
    return Response(
        content=error.body(current_request_id()),
        status_code=error.status_code,
        headers=error.headers,
        media_type="application/json",
    )


def _function_name(request: Request[Any, Any, Any] | None) -> str:
    if request is None:
        return "unmatched"
    handler = request.scope.get("route_handler")
    return getattr(handler, "opt", {}).get("function", "unmatched") if handler else "unmatched"


def _param_of(item: dict[str, Any]) -> str | None:
    """The field at fault by dotted path; an unknown field by its own name (§4.2)."""
    message = str(item.get("message", ""))
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        return unknown.group(1)
    key = str(item.get("key") or "")
    key = "" if key == "data" else key.removeprefix("data.")
    missing = _MISSING_FIELD.search(message)
    if missing:
        return f"{key}.{missing.group(1)}" if key else missing.group(1)
    return key or None


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = str(first.get("message") or "invalid request")
    # msgspec says `$.customer.email`; the API names fields by dotted path.
    message = re.sub(r"\s*- at `\$\.?[^`]*`", "", message)
    return error_response(request, ApiError("validation_error", message, param=_param_of(first)))


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return error_response(request, exc)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 400 or isinstance(exc, SerializationException):
        return error_response(request, ApiError("validation_error", "request body is not valid JSON"))
    code = _STATUS_CODES.get(exc.status_code)
    if code == "not_found":
        return error_response(request, ApiError("not_found", "no such resource"))
    if code == "method_not_allowed":
        return error_response(request, ApiError("method_not_allowed", "method not allowed on this resource"))
    if code == "payload_too_large":
        return error_response(request, ApiError("payload_too_large", "request body exceeds 1 MiB"))
    if code:
        return error_response(request, ApiError(code, exc.detail or code))
    if exc.status_code >= 500:
        return _internal(request, exc)
    return error_response(request, ApiError("validation_error", "bad request"))


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", exc_info=exc, function=_function_name(request))
    return error_response(request, ApiError("internal_error", "internal error"))


def _body_timeout(request: Request[Any, Any, Any], exc: BodyReadTimeoutError) -> Response[Any]:
    response = error_response(request, ApiError("request_timeout", str(exc)))
    response.headers["Connection"] = "close"
    return response


def _bad_encoding(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    return error_response(request, ApiError("validation_error", "request body is not valid UTF-8"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    UnicodeDecodeError: _bad_encoding,
    BodyReadTimeoutError: _body_timeout,
    ApiError: _api_error,
    ValidationException: _validation,
    NotFoundException: _http,
    MethodNotAllowedException: _http,
    HTTPException: _http,
    Exception: _internal,
}
