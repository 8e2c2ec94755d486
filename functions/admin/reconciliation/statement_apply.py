"""POST /admin/v1/reconciliation/{date}/statements/apply {"ple_id", "transaction_id"}: resolve a
`collected_not_succeeded` break by asking the provider and applying its answer through the state
machine (a poll); 404 when the day's stored result has no such applicable break."""

from typing import Any

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.http.openapi import documented
from core.resources import Resources
from core.statement_reconciliation import apply_collected

ROLE = "api"


class BreakApply(msgspec.Struct, forbid_unknown_fields=True):
    ple_id: str
    transaction_id: str


@post(
    "/admin/v1/reconciliation/{date:str}/statements/apply",
    opt={"admin_scope": "ops"},
    status_code=200,
    **documented("adminApplyStatementBreak", errors=(404,)),
)
async def apply(
    date: FromPath[str],
    data: JSONBody[BreakApply],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
) -> dict[str, Any]:
    status = await apply_collected(resources, data.ple_id, date, data.transaction_id, actor=admin)
    return {"object": "reconciliation_apply", "transaction_id": data.transaction_id, "status": status}
