"""GET /payins.csv, /payouts.csv, /refunds.csv: exactly the rows the list page with the same query
finds, every page of them, streamed (core/dashboard/export.py)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Stream

from core.dashboard.export import csv_rows
from core.dashboard.filters import read_filters
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.payments.model import Kind
from core.resources import Resources
from core.timeutil import utcnow

ROLE = "frontend"


@get(["/payins.csv", "/payouts.csv", "/refunds.csv"], exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def transactions_csv(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    name = request.url.path.strip("/").removesuffix(".csv")
    kind = Kind(name.removesuffix("s"))
    parsed = read_filters(kind, request.query_params, page.brand.timezone)
    filename = f"{name}-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Stream(
        csv_rows(resources, kind, page.merchant_id, parsed.filters),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
