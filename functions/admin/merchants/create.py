"""POST /admin/v1/merchants: a new merchant with one API key (secrets in this answer only)."""

from typing import Any

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.merchants.service import Actor, create_merchant
from core.resources import Resources

ROLE = "api"


class MerchantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str = msgspec.field()
    ip_whitelist: list[str] = msgspec.field(default_factory=list)
    webhook_url: str | None = None
    fee_plans: dict[str, Any] = msgspec.field(default_factory=dict)


@post(
    "/admin/v1/merchants",
    status_code=201,
    opt={"admin_scope": "write"},
    **documented("adminCreateMerchant", answers.MerchantCreated),
)
async def create(
    data: JSONBody[MerchantCreate],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    created = await create_merchant(
        resources,
        name=data.name,
        actor=Actor(admin, client_ip),
        ip_whitelist=data.ip_whitelist,
        webhook_url=data.webhook_url,
        fee_plans=data.fee_plans,
    )
    return {
        **created["merchant"],
        "secret": created["secret"],
        "webhook_secret": created["webhook_secret"],
        "key_id": created["key_id"],
    }
