"""GET /admin/v1/reconciliation/{date}/statements?ple_id=: the day's stored three-way
reconciliations (provider statement against transactions and ledger), one per PLE."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from core.http.openapi import documented
from core.resources import Resources
from core.statement_reconciliation import get_statement_reports

ROLE = "api"


@get(
    "/admin/v1/reconciliation/{date:str}/statements",
    opt={"admin_scope": "read"},
    **documented("adminListStatementReconciliations"),
)
async def statements(
    date: FromPath[str], resources: NamedDependency[Resources], ple_id: FromQuery[str | None] = None
) -> dict[str, Any]:
    return {"object": "list", "data": await get_statement_reports(resources.db, date, ple_id or None)}
