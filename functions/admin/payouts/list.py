"""GET /admin/v1/payouts: payouts across merchants; `needs_review=true` lists those polling gave up on."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.http.lists import Limit, StartingAfter, checked_limit, page
from core.payments.listing import list_transactions
from core.payments.payouts import public_payout
from core.resources import Resources

ROLE = "api"


@get("/admin/v1/payouts", opt={"admin_scope": "read"})
async def list_all(
    resources: NamedDependency[Resources],
    limit: Limit = 20,
    starting_after: StartingAfter = None,
    needs_review: FromQuery[bool | None] = None,
    merchant_id: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> dict[str, Any]:
    extra = {} if needs_review is None else {"needs_review": needs_review}

    def shape(doc: dict[str, Any]) -> dict[str, Any]:
        return {**public_payout(doc), "merchant_id": doc["merchant_id"]}

    data, has_more = await list_transactions(
        resources.mongo.db.payouts,
        shape,
        merchant_id=merchant_id,
        limit=checked_limit(limit),
        starting_after=starting_after,
        status=status,
        extra=extra,
    )
    return page(data, has_more)
