"""POST /admin/v1/merchants/{merchant_id}/webhook-secret: rotate (new secret in this answer only)."""

from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http.openapi import documented
from core.merchants.service import Actor, rotate_webhook_secret
from core.resources import Resources

ROLE = "api"


@post(
    "/admin/v1/merchants/{merchant_id:str}/webhook-secret",
    status_code=200,
    opt={"admin_scope": "write"},
    **documented("adminRotateWebhookSecret"),
)
async def rotate(
    merchant_id: FromPath[str],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    return await rotate_webhook_secret(resources, merchant_id, Actor(admin, client_ip))
