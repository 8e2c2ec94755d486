"""GET /manage/reconciliation?date=YYYY-MM-DD: that UTC day's reconciliation report and each PLE's
three-way reconciliation against its provider statement (default yesterday)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.reconciliation import get_report
from core.resources import Resources
from core.settlement import previous_utc_day
from core.statement_reconciliation import get_statement_reports

ROLE = "frontend"


@get("/manage/reconciliation", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def reconciliation(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    day = (request.query_params.get("date") or "").strip() or previous_utc_day().isoformat()
    try:
        report = await get_report(resources, day)
        statements = await get_statement_reports(resources.db, day)
    except ApiError as exc:
        return page.render("manage_reconciliation.html", status=422, day=day[:10], report=None, error=exc.message)
    applied = request.query_params.get("applied")  # only named back: the breaks below show the outcome
    return page.render("manage_reconciliation.html", day=day, report=report, statements=statements, applied=applied)
