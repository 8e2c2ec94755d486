"""POST /admin/v1/ples: a provider legal entity (its secret is stored encrypted, never shown)."""

from typing import Any

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.resources import Resources
from core.routing import create_ple

ROLE = "api"


class PleCreate(msgspec.Struct, forbid_unknown_fields=True):
    provider: str
    name: str
    currency: str
    base_url: str
    secret: str
    fee_schedule: dict[str, Any] = msgspec.field(default_factory=dict)


@post("/admin/v1/ples", status_code=201)
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
