"""POST /v1/refunds: refund a succeeded payin, in full or in part (§4.9)."""

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.http import answers
from core.http.openapi import documented
from core.payments.inputs import RefundCreate
from core.payments.refunds import create_refund
from core.payments.views import RefundView
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


@post(
    "/v1/refunds",
    status_code=201,
    **documented(
        "createRefund",
        answers.Refund,
        errors=(
            404,
            502,
        ),
    ),
)
async def create(
    data: JSONBody[RefundCreate], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> RefundView:
    return await create_refund(resources, merchant.merchant_id, data)
