"""GET /v1/payouts/{payout_id}: one of the merchant's payouts (another merchant's is 404)."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.payments.payouts import get_payout
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/payouts/{payout_id:str}")
async def get_one(
    payout_id: FromPath[str], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> dict[str, Any]:
    return await get_payout(resources, merchant.merchant_id, payout_id)
