"""GET /admin/v1/reconciliation/{date}: that UTC day's reconciliation report (404 before it ran)."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.errors import not_found
from core.http.openapi import documented
from core.reconciliation import get_report
from core.resources import Resources

ROLE = "api"


@get(
    "/admin/v1/reconciliation/{date:str}",
    opt={"admin_scope": "read"},
    **documented("adminGetReconciliation", errors=(422,)),
)
async def get_one(date: FromPath[str], resources: NamedDependency[Resources]) -> dict[str, Any]:
    report = await get_report(resources, date)
    if report is None:
        raise not_found("reconciliation report")
    return report
