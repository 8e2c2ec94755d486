"""POST /admin/v1/merchants/{merchant_id}/adjustments: manual credit (negative: debit), audited."""

from typing import Any

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.balances import adjust
from core.http.openapi import documented
from core.resources import Resources

ROLE = "api"


class Adjustment(msgspec.Struct, forbid_unknown_fields=True):
    amount: int
    currency: str
    reference: str
    reason: str


@post(
    "/admin/v1/merchants/{merchant_id:str}/adjustments",
    status_code=201,
    opt={"admin_scope": "write"},
    **documented("adminCreateAdjustment", errors=(409,)),
)
async def create_adjustment(
    merchant_id: FromPath[str],
    data: JSONBody[Adjustment],
    resources: NamedDependency[Resources],
    admin: NamedDependency[str],
) -> dict[str, Any]:
    return await adjust(
        resources,
        merchant_id,
        amount=data.amount,
        currency=data.currency,
        reference=data.reference,
        reason=data.reason,
        actor=admin,
    )
