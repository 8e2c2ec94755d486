"""Scenario (a), the ceiling: a bare Litestar app under Granian that verifies the merchant
HMAC over the same body the payin scenario sends, and stores nothing.

`python -m bench.ceiling_app --port P --key-id K --secret S` serves it with the settings
`gateway serve` uses (one Granian worker, ASGI).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import click
from litestar import Litestar, Request, post
from litestar.exceptions import NotAuthorizedException

from core.signing import signature


@post("/v1/payins", status_code=201)
async def create(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.body()
    headers = request.headers
    key_id, secret = request.app.state.key_id, request.app.state.secret
    if headers.get("x-api-key") != key_id:
        raise NotAuthorizedException("invalid_api_key")
    expected = signature(secret, headers.get("x-timestamp", ""), "POST", request.url.path, body)
    if not hmac.compare_digest(expected.encode(), headers.get("x-signature", "").encode()):
        raise NotAuthorizedException("invalid_signature")
    return {"id": "pay_ceiling", "status": "pending", "bytes": len(body)}


def create_app() -> Litestar:
    app = Litestar(route_handlers=[create], logging_config=None, debug=False, openapi_config=None)
    app.state.key_id = os.environ["BENCH_CEILING_KEY_ID"]
    app.state.secret = os.environ["BENCH_CEILING_SECRET"]
    return app


@click.command()
@click.option("--port", type=int, required=True)
@click.option("--key-id", required=True)
@click.option("--secret", required=True)
def main(port: int, key_id: str, secret: str) -> None:
    from granian import Granian

    os.environ["BENCH_CEILING_KEY_ID"], os.environ["BENCH_CEILING_SECRET"] = key_id, secret
    Granian(
        "bench.ceiling_app:create_app",
        factory=True,
        interface="asgi",
        address="127.0.0.1",
        port=port,
        workers=1,
        log_level="warning",
    ).serve()


if __name__ == "__main__":
    main()
