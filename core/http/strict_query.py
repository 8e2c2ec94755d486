"""Strict date-time query parameters: `?created_lt=0.5` is a validation error, not 1970.

Litestar converts query values leniently, so a number given for a `datetime` parameter becomes
Unix seconds. The API documents these parameters as ISO 8601 date-times (ARCHITECTURE §4.2,
OpenAPI `format: date-time`), so this guard refuses a bare number with 422 `validation_error`
naming the parameter, before the handler runs.

The guard is attached only to handlers that take a date-time parameter (`guard_datetime_queries`,
at app build), and it is a coroutine: Litestar runs a plain-function guard in a worker thread and
copies the handler for every guard call, which cost a third of the CPU of a signed request when it
ran on every route (issue 19, docs/performance.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, get_args, get_type_hints

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


def takes_datetime_query(handler: BaseRouteHandler) -> bool:
    """Whether `handler`'s function has a `datetime` parameter (true when its hints don't resolve)."""
    try:
        hints = get_type_hints(handler.fn)
    except Exception:  # unresolvable hints: keep the guard, the safe side
        return True
    return any(hint is datetime or datetime in get_args(hint) for name, hint in hints.items() if name != "return")


def guard_datetime_queries(handler: BaseRouteHandler) -> None:
    """Attach the strict date-time guard to `handler` when it takes a date-time parameter."""
    guards = list(handler.guards or ())
    if takes_datetime_query(handler) and strict_datetime_query not in guards:  # apps share handlers
        handler.guards = [*guards, strict_datetime_query]


async def strict_datetime_query(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    for name in _datetime_query_params(handler):
        for value in connection.query_params.getall(name, ()):
            if _NUMBER.fullmatch(value):
                raise ApiError("validation_error", f"{name} must be an ISO 8601 date-time", param=name)
