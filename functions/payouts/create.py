"""POST /v1/payouts: hold amount + fee at once, then submit to the provider (§4.6)."""

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.payments.inputs import PayoutCreate
from core.payments.payouts import create_payout
from core.payments.views import PayoutView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@post("/v1/payouts", status_code=201, **documented("createPayout", answers.Payout, errors=(502,)))
async def create(
    data: JSONBody[PayoutCreate], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> PayoutView:
    return await create_payout(resources, merchant.merchant_id, data)
