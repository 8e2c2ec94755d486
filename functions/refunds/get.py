"""GET /v1/refunds/{refund_id}: one of the merchant's refunds (another merchant's is 404)."""

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.payments.refunds import get_refund
from core.payments.views import RefundView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@get("/v1/refunds/{refund_id:str}", **documented("getRefund", answers.Refund))
async def get_one(
    refund_id: FromPath[str], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> RefundView:
    return await get_refund(resources, merchant.merchant_id, refund_id)
