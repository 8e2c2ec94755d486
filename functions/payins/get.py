"""GET /v1/payins/{payin_id}: one of the merchant's payins (another merchant's is 404)."""

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.payments.payins import get_payin
from core.payments.views import PayinView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/payins/{payin_id:str}", **documented("getPayin", answers.Payin))
async def get_one(
    payin_id: FromPath[str], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> PayinView:
    return await get_payin(resources, merchant.merchant_id, payin_id)
