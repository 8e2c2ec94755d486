"""PUT /admin/v1/merchants/{merchant_id}/routes: replace the merchant's routing to PLEs."""

from typing import Any

import msgspec
from litestar import put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.http.lists import page
from core.http.openapi import documented
from core.resources import Resources
from core.routing import set_routes

ROLE = "api"


class Route(msgspec.Struct, forbid_unknown_fields=True):
    direction: str
    method: str
    ple_id: str


@put("/admin/v1/merchants/{merchant_id:str}/routes", opt={"admin_scope": "write"}, **documented("adminReplaceRoutes"))
async def replace_routes(
    merchant_id: FromPath[str],
    data: JSONBody[list[Route]],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
) -> dict[str, Any]:
    routes = await set_routes(resources, merchant_id, [msgspec.structs.asdict(r) for r in data], admin)
    return page(routes, False)
