"""Strict JSON bodies: `"amount": "100"` is a validation error, not 100.

Litestar converts request data leniently (strings to numbers and the like). For money that
is a trap, so every handler's `data` type is first decoded strictly with msgspec from the raw
body; the handler then receives the same, already valid, data.
"""

from __future__ import annotations

import re
from typing import Any, get_args

import msgspec
from litestar import Request

from core.errors import ApiError

_AT = re.compile(r"\s*- at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_decoders: dict[Any, msgspec.json.Decoder[Any] | None] = {}


def _decoder(handler: Any) -> msgspec.json.Decoder[Any] | None:
    if handler not in _decoders:
        field = handler.parsed_fn_signature.parameters.get("data")
        annotation = field.annotation if field is not None else None
        if annotation is not None and get_args(annotation) and hasattr(annotation, "__metadata__"):
            annotation = get_args(annotation)[0]
        _decoders[handler] = msgspec.json.Decoder(annotation, strict=True) if annotation is not None else None
    return _decoders[handler]


def param_of(message: str) -> str | None:
    unknown = _UNKNOWN.search(message)
    if unknown:
        return unknown.group(1)
    at = _AT.search(message)
    path = at.group(1).replace("[", ".").replace("]", "") if at else ""
    missing = _MISSING.search(message)
    if missing:
        return f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path or None


def strict_body_middleware(app: Any) -> Any:
    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        handler = scope.get("route_handler")
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") and handler is not None:
            decoder = _decoder(handler)
            if decoder is not None:
                body = await Request(scope, receive).body()
                try:
                    decoder.decode(body)
                except msgspec.ValidationError as exc:
                    text = str(exc)
                    raise ApiError("validation_error", _AT.sub("", text), param=param_of(text)) from None
                except msgspec.DecodeError:
                    raise ApiError("validation_error", "request body is not valid JSON") from None
        await app(scope, receive, send)

    return middleware
