"""POST /v1/callbacks/{provider}: a provider reports a status; verified by its own signature, and
applied only to transactions of the PLE whose secret verified it (§5)."""

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http.openapi import documented
from core.payments.callbacks import CallbackReceipt, receive_callback
from core.resources import Resources

ROLE = "payment"


@post("/v1/callbacks/{provider:str}", status_code=200, **documented("receiveProviderCallback", errors=(404,)))
async def provider_callback(
    provider: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> CallbackReceipt:
    return await receive_callback(resources, provider, request.headers, await request.body())
