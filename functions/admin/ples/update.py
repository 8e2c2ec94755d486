"""PATCH /admin/v1/ples/{ple_id}: name, base URL, active flag, fee schedule, secret."""

from typing import Any

import msgspec
from litestar import patch
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.routing import update_ple

ROLE = "api"


class PleUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    base_url: str | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    fee_schedule: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    secret: str | msgspec.UnsetType = msgspec.UNSET


@patch("/admin/v1/ples/{ple_id:str}", opt={"admin_scope": "ops"}, **documented("adminUpdatePle", answers.Ple))
async def update(
    ple_id: FromPath[str], data: JSONBody[PleUpdate], resources: NamedDependency[Resources], admin: NamedDependency[str]
) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return await update_ple(resources, ple_id, changes, admin)
