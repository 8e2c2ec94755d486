"""POST /admin/v1/settlements: settle a PLE's provider fees of a UTC day that has ended.

201 with the settlement; 200 with `"skipped": true` and the existing one when that day is settled."""

from typing import Any

import msgspec
from litestar import Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.settlement import settle_ple_fees

ROLE = "api"


class SettlementCreate(msgspec.Struct, forbid_unknown_fields=True):
    ple_id: str
    date: str


@post(
    "/admin/v1/settlements",
    opt={"admin_scope": "ops"},
    **documented(
        "adminCreateSettlement", answers.Settlement, errors=(409,), also={200: "That day was already settled"}
    ),
)
async def create(
    data: JSONBody[SettlementCreate], resources: NamedDependency[Resources], admin: NamedDependency[str]
) -> Response[dict[str, Any]]:
    settlement = await settle_ple_fees(resources, data.ple_id, data.date, actor=admin)
    return Response(settlement, status_code=200 if settlement["skipped"] else 201)
