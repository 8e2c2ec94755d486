"""Per-request context: request id in and out, log context, and the HTTP metrics.

A plain ASGI wrapper around the Litestar app, so every response (404s from the router
included) carries `X-Request-Id` and is counted.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog

from core.ids import new_id
from core.observability.metrics import HTTP_DURATION, HTTP_REQUESTS

_log = structlog.get_logger("http")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current_request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id") or "")


def _incoming_request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return new_id("req")


class RequestContext:
    """ASGI middleware: binds `request_id` (and role) for the request's lifetime."""

    def __init__(self, app: Any, role: str) -> None:
        self.app = app
        self.role = role

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(role=self.role, request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            handler = scope.get("route_handler")
            function = handler.opt.get("function", "unmatched") if handler is not None else "unmatched"
            labels = {"function": function, "method": scope.get("method", "")}
            HTTP_DURATION.record(time.perf_counter() - started, labels)
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.add(1, {**labels, "status_code": str(status["code"])})
            _log.info(
                "request",
                function=function,
                method=labels["method"],
                path=scope.get("path", ""),
                status=status["code"],
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(role=self.role)


def litestar_of(app: Any) -> Any:
    """The Litestar app inside our ASGI wrappers (for its lifespan and state)."""
    from litestar import Litestar

    while not isinstance(app, Litestar):
        app = app.app
    return app
