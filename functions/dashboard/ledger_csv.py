"""GET /ledger.csv: the statement's most recent entries as CSV, one row per posting."""

import csv
import io
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.ledger.queries import MAX_STATEMENT_LIMIT, merchant_statement
from core.resources import Resources
from core.timeutil import iso

ROLE = "frontend"


@get("/ledger.csv", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def ledger_csv(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources)
    entries, _ = await merchant_statement(resources.db, page.merchant_id, MAX_STATEMENT_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["entry_id", "created_at", "kind", "transaction_id", "account", "currency", "amount_minor"])
    for entry in entries:
        for posting in entry.postings:
            account = posting.account_code.rsplit(":", 1)[-1]
            writer.writerow(
                [
                    entry.id,
                    iso(entry.created_at),
                    entry.kind,
                    entry.transaction_id,
                    account,
                    posting.currency,
                    posting.amount,
                ]
            )
    return Response(
        content=out.getvalue(),
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/* itself
        headers={"Content-Disposition": 'attachment; filename="statement.csv"', "Cache-Control": "no-store"},
    )
