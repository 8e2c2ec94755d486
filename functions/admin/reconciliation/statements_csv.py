"""GET /admin/v1/reconciliation/{date}/statements.csv?ple_id=: the day's three-way breaks as CSV
(date, ple_id, kind, severity, type, transaction_id, amount, action, detail)."""

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from core.http.openapi import documented
from core.resources import Resources
from core.statement_reconciliation import breaks_csv, get_statement_reports

ROLE = "api"


@get(
    "/admin/v1/reconciliation/{date:str}/statements.csv",
    opt={"admin_scope": "read"},
    **documented("adminStatementBreaksCsv", media_type="text/csv"),
)
async def statements_csv(
    date: FromPath[str], resources: NamedDependency[Resources], ple_id: FromQuery[str | None] = None
) -> Response[str]:
    reports = await get_statement_reports(resources.db, date, ple_id or None)
    return Response(
        breaks_csv(reports),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-breaks-{date[:10]}.csv"'},
    )
