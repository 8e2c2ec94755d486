"""GET /v1/ledger/entries: the merchant's statement, newest first; filters kind, created range."""

from datetime import datetime
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.balances import statement
from core.http import answers
from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "api"


@get("/v1/ledger/entries", **documented("listLedgerEntries", answers.LedgerEntryList))
async def list_entries(
    merchant: NamedDependency[MerchantAuth],
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    kind: FromQuery[str | None] = None,
    created_gte: FromQuery[datetime | None] = None,
    created_lt: FromQuery[datetime | None] = None,
) -> dict[str, Any]:
    data, has_more = await statement(
        resources.db,
        merchant.merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        kind=kind,
        created_gte=created_gte,
        created_lt=created_lt,
    )
    return page(data, has_more)
