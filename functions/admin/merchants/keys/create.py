"""POST /admin/v1/merchants/{merchant_id}/keys: a new API key (secret in this answer only)."""

from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http.openapi import documented
from core.merchants.service import Actor, create_api_key
from core.resources import Resources

ROLE = "api"


@post(
    "/admin/v1/merchants/{merchant_id:str}/keys",
    status_code=201,
    opt={"admin_scope": "write"},
    **documented("adminCreateKey"),
)
async def create_key(
    merchant_id: FromPath[str],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    return await create_api_key(resources, merchant_id, Actor(admin, client_ip))
