"""POST /manage/reconciliation/apply: resolve a `collected_not_succeeded` break by asking the
provider and applying its answer through the state machine, then reconcile that PLE's day again."""

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, PageError, signed_in
from core.errors import ApiError
from core.resources import Resources
from core.settlement import parse_day
from core.statement_reconciliation import apply_collected, reconcile_statement

ROLE = "frontend"


@post("/manage/reconciliation/apply", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def reconciliation_apply(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    day, ple_id, transaction_id = form.get("date", ""), form.get("ple_id", ""), form.get("transaction_id", "")
    checked_day = parse_day(day).isoformat()
    try:
        await apply_collected(resources, ple_id, checked_day, transaction_id, actor=page.actor.name)
    except ApiError as exc:
        raise PageError(404 if exc.code == "not_found" else 422, exc.message) from None
    try:  # the stored breaks then show what is left; a provider blip leaves them until the next run
        await reconcile_statement(resources, ple_id, checked_day)
    except ApiError:
        pass
    query = urlencode({"date": checked_day, "applied": transaction_id})
    return page.redirect(f"/manage/reconciliation?{query}")
