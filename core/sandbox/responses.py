"""Answer and request helpers shared by the sandbox's provider API (app.py) and its operator
endpoints (operator.py); errors are `{"error": {"code", "message"}}` (docs/sandbox.md)."""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Request
from litestar.response import Response

from core.sandbox.simulator import Simulator


class BadRequest(Exception):
    pass


def json_response(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(content=body, status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str) -> Response[Any]:
    return json_response(status, {"error": {"code": code, "message": message}})


def simulator_of(request: Request[Any, Any, Any]) -> Simulator:
    return request.app.state.simulator


def parse_object(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data
