"""PATCH /admin/v1/merchants/{merchant_id}: name, status, whitelist, webhook URL, fee plans."""

from typing import Any, Literal

import msgspec
from litestar import patch
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.http import answers
from core.http.openapi import documented
from core.merchants.service import Actor, update_merchant
from core.resources import Resources

ROLE = "api"


class MerchantUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "suspended"] | msgspec.UnsetType = msgspec.UNSET
    ip_whitelist: list[str] | msgspec.UnsetType = msgspec.UNSET
    webhook_url: str | msgspec.UnsetType | None = msgspec.UNSET
    fee_plans: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


@patch(
    "/admin/v1/merchants/{merchant_id:str}",
    opt={"admin_scope": "write"},
    **documented("adminUpdateMerchant", answers.Merchant),
)
async def update(
    merchant_id: FromPath[str],
    data: JSONBody[MerchantUpdate],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return await update_merchant(resources, merchant_id, changes, Actor(admin, client_ip))
