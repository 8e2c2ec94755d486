"""POST /admin/v1/ples: a provider legal entity. Its secret is stored encrypted; without one a
secret is generated and shown in this answer only (`secret`)."""

from typing import Any

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.routing import create_ple

ROLE = "api"


class PleCreate(msgspec.Struct, forbid_unknown_fields=True):
    provider: str
    name: str
    currency: str
    base_url: str
    secret: str | None = None
    fee_schedule: dict[str, Any] = msgspec.field(default_factory=dict)


@post("/admin/v1/ples", status_code=201, opt={"admin_scope": "ops"}, **documented("adminCreatePle", answers.Ple))
async def create(
    data: JSONBody[PleCreate], resources: NamedDependency[Resources], admin: NamedDependency[str]
) -> dict[str, Any]:
    return await create_ple(
        resources,
        provider=data.provider,
        name=data.name,
        currency=data.currency,
        base_url=data.base_url,
        secret=data.secret,
        fee_schedule=data.fee_schedule,
        actor=admin,
    )
