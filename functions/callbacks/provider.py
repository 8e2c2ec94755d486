"""POST /v1/callbacks/{provider}: a provider reports a status; verified by its own signature."""

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.payments.callbacks import receive_callback
from core.resources import Resources

ROLE = "payment"


@post("/v1/callbacks/{provider:str}", status_code=200)
async def provider_callback(
    provider: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> dict[str, Any]:
    body = await request.body()
    return await receive_callback(resources, provider, dict(request.headers), body)
