"""POST /v1/payins: collect from a customer through the merchant's routed provider (§4.5)."""

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.payments.inputs import PayinCreate
from core.payments.payins import create_payin
from core.payments.views import PayinView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@post("/v1/payins", status_code=201, **documented("createPayin", answers.Payin, errors=(502,)))
async def create(
    data: JSONBody[PayinCreate], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> PayinView:
    return await create_payin(resources, merchant.merchant_id, data)
