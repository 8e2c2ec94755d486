"""Strict JSON bodies, decoded once: `"amount": "100"` is a validation error, not 100.

Litestar converts request data leniently (strings to numbers and the like). For money that is a
trap, so every handler's `data` type is decoded here, strictly, with msgspec, from the body the
auth middleware verified; the decoded struct is handed to Litestar as the request's parsed JSON,
so the handler receives it without a second parse. A failure is 422 `validation_error` naming
the field by its dotted path, with the message its constraint's `description` gives.
"""

from __future__ import annotations

import re
from typing import Any, get_args

import msgspec
import msgspec.inspect as mi
from litestar import Request
from litestar.utils.scope.state import ScopeState

from core.errors import ApiError

_AT = re.compile(r"\s*- at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_CONSTRAINT = re.compile(
    r"^Expected `[a-z]+` (matching regex|of length|that is [<>]|of length [<>])|Invalid enum value"
)
_decoders: dict[Any, tuple[msgspec.json.Decoder[Any], Any] | None] = {}


def _decoder(handler: Any) -> tuple[msgspec.json.Decoder[Any], Any] | None:
    if handler not in _decoders:
        field = handler.parsed_fn_signature.parameters.get("data")
        annotation = field.annotation if field is not None else None
        if annotation is not None and get_args(annotation) and hasattr(annotation, "__metadata__"):
            annotation = get_args(annotation)[0]
        _decoders[handler] = (
            (msgspec.json.Decoder(annotation, strict=True), annotation) if annotation is not None else None
        )
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


def description_of(annotation: Any, param: str | None) -> str | None:
    """The `Meta(description=...)` of the field at dotted path `param`, if it has one."""
    if not param:
        return None
    info: Any = mi.type_info(annotation)
    description = None
    for part in param.split("."):
        while isinstance(info, mi.UnionType):  # `X | None`: look into X
            info = next((t for t in info.types if not isinstance(t, mi.NoneType)), info.types[0])
        if isinstance(info, mi.Metadata):
            info = info.type
        if not isinstance(info, mi.StructType):
            return None
        found = next((f for f in info.fields if f.encode_name == part), None)
        if found is None:
            return None
        info = found.type
        while isinstance(info, mi.UnionType):
            info = next((t for t in info.types if not isinstance(t, mi.NoneType)), info.types[0])
        description = (info.extra_json_schema or {}).get("description") if isinstance(info, mi.Metadata) else None
    return description


def strict_body_middleware(app: Any) -> Any:
    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        handler = scope.get("route_handler")
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") and handler is not None:
            found = _decoder(handler)
            if found is not None:
                decoder, annotation = found
                body = await Request(scope, receive).body()
                try:
                    decoded = decoder.decode(body)
                except msgspec.ValidationError as exc:
                    text = str(exc)
                    param = param_of(text)
                    message = _AT.sub("", text)
                    described = description_of(annotation, param) if _CONSTRAINT.search(message) else None
                    if described:
                        leaf = (param or "").rsplit(".", 1)[-1]
                        message = described if described.startswith(leaf) else f"{param}: {described}"
                    raise ApiError("validation_error", message, param=param) from None
                except msgspec.DecodeError:
                    raise ApiError("validation_error", "request body is not valid JSON") from None
                ScopeState.from_scope(scope).json = decoded  # Litestar hands this to `data` as is
        await app(scope, receive, send)

    return middleware
