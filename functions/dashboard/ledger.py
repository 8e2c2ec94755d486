"""GET /ledger: the merchant's ledger statement, newest first, with the balance of each account
after every entry."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.ledger.queries import merchant_statement
from core.ledger.statement import statement_lines
from core.resources import Resources

ROLE = "frontend"
PAGE_SIZE = 50
CSV_LIMIT = 1000


@get("/ledger", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def ledger(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    after = (request.query_params.get("starting_after") or "").strip()[:64] or None
    entries, has_more = await merchant_statement(resources.db, page.merchant_id, PAGE_SIZE, after)
    lines = await statement_lines(resources.db, page.merchant_id, entries)
    return page.render("ledger.html", lines=lines, entries=entries, has_more=has_more, after=after, csv_limit=CSV_LIMIT)
