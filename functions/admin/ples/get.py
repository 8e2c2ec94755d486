"""GET /admin/v1/ples/{ple_id}: one provider legal entity."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.routing import get_ple

ROLE = "api"


@get("/admin/v1/ples/{ple_id:str}", opt={"admin_scope": "read"}, **documented("adminGetPle", answers.Ple))
async def get_one(ple_id: FromPath[str], resources: NamedDependency[Resources]) -> dict[str, Any]:
    return await get_ple(resources.db, ple_id)
