"""DELETE /admin/v1/merchants/{merchant_id}/keys/{key_id}: revoke (fails everywhere within 10 s)."""

from typing import Any

from litestar import delete
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http.openapi import documented
from core.merchants.service import Actor, revoke_api_key
from core.resources import Resources

ROLE = "api"


@delete(
    "/admin/v1/merchants/{merchant_id:str}/keys/{key_id:str}",
    status_code=200,
    opt={"admin_scope": "write"},
    **documented("adminRevokeKey"),
)
async def revoke_key(
    merchant_id: FromPath[str],
    key_id: FromPath[str],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    return await revoke_api_key(resources, merchant_id, key_id, Actor(admin, client_ip))
