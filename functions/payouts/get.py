"""GET /v1/payouts/{payout_id}: one of the merchant's payouts (another merchant's is 404)."""

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.payments.payouts import get_payout
from core.payments.views import PayoutView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/payouts/{payout_id:str}", **documented("getPayout", answers.Payout))
async def get_one(
    payout_id: FromPath[str], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> PayoutView:
    return await get_payout(resources, merchant.merchant_id, payout_id)
