"""POST /v1/callbacks/{provider}/{ple_id}: the same, at a PLE's own callback URL: only that PLE's
secret is tried, so the PLE vouching for the callback is known before any secret is (§5)."""

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http.openapi import documented
from core.payments.callbacks import CallbackReceipt, receive_callback
from core.resources import Resources

ROLE = "payment"


@post("/v1/callbacks/{provider:str}/{ple_id:str}", status_code=200, **documented("receivePleCallback"))
async def provider_ple_callback(
    provider: FromPath[str],
    ple_id: FromPath[str],
    request: Request[Any, Any, Any],
    resources: NamedDependency[Resources],
) -> CallbackReceipt:
    return await receive_callback(resources, provider, request.headers, await request.body(), ple_id=ple_id)
