"""GET /admin/v1/settlements/report?ple_id=&date=: the transactions a PLE's settlement of that
UTC day covers, as CSV (id, kind, amount, currency, provider_fee, provider_reference, final_at)."""

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.errors import ApiError
from core.http.openapi import documented
from core.resources import Resources
from core.settlement import report_csv, settlement_report_rows

ROLE = "api"


@get(
    "/admin/v1/settlements/report",
    opt={"admin_scope": "read"},
    **documented("adminSettlementReport", media_type="text/csv"),
)
async def report(
    resources: NamedDependency[Resources], ple_id: FromQuery[str | None] = None, date: FromQuery[str | None] = None
) -> Response[str]:
    if not ple_id:
        raise ApiError("validation_error", "ple_id is required", param="ple_id")
    if not date:
        raise ApiError("validation_error", "date is required", param="date")
    rows = await settlement_report_rows(resources, ple_id, date)
    return Response(
        report_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="settlement-{ple_id}-{date}.csv"'},
    )
