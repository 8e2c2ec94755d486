"""Strict date-time query parameters: `?created_lt=0.5` is a validation error, not 1970.

Litestar converts query values leniently, so a number given for a `datetime` parameter becomes
Unix seconds. The API documents these parameters as ISO 8601 date-times (ARCHITECTURE §4.2,
OpenAPI `format: date-time`), so this guard, on every handler, refuses a bare number with 422
`validation_error` naming the parameter, before the handler runs.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, get_args

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.errors import ApiError

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_datetime_params: dict[Any, tuple[str, ...]] = {}


def _datetime_query_params(handler: BaseRouteHandler) -> tuple[str, ...]:
    # Keyed by the handler's function: Litestar hands guards a fresh `copy(handler)` per request,
    # whose id is soon reused by another handler's copy.
    key = handler.fn
    if key not in _datetime_params:
        found = []
        for name, field in handler.parsed_fn_signature.parameters.items():
            annotation: Any = field.annotation
            if annotation is datetime or datetime in get_args(annotation):
                found.append(name)
        _datetime_params[key] = tuple(found)
    return _datetime_params[key]


def strict_datetime_query(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    for name in _datetime_query_params(handler):
        for value in connection.query_params.getall(name, ()):
            if _NUMBER.fullmatch(value):
                raise ApiError("validation_error", f"{name} must be an ISO 8601 date-time", param=name)
