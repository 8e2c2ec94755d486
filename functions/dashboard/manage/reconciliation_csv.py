"""GET /manage/reconciliation.csv?date=YYYY-MM-DD: the day's three-way reconciliation breaks of
every PLE as CSV (the same columns as the admin API's export)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources
from core.settlement import parse_day, previous_utc_day
from core.statement_reconciliation import breaks_csv, get_statement_reports

ROLE = "frontend"


@get("/manage/reconciliation.csv", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def reconciliation_csv(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    await signed_in(request, resources, role="admin")
    day = parse_day((request.query_params.get("date") or "").strip() or previous_utc_day())
    return Response(
        content=breaks_csv(await get_statement_reports(resources.db, day)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="reconciliation-breaks-{day.isoformat()}.csv"',
            "Cache-Control": "no-store",
        },
    )
