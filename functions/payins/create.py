"""POST /v1/payins: collect from a customer through the merchant's routed provider (§4.5)."""

from typing import Any, Literal

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.payments.payins import PayinInput, create_payin
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


class Customer(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    email: str
    phone: str | None = None


class PayinCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: int
    currency: str
    reference: str
    method: Literal["upi", "bank_transfer", "card"]
    customer: Customer
    expires_in_minutes: int | None = None
    return_url: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


@post("/v1/payins", status_code=201)
async def create(
    data: JSONBody[PayinCreate], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> dict[str, Any]:
    fields = msgspec.structs.asdict(data)
    fields["customer"] = {k: v for k, v in msgspec.structs.asdict(data.customer).items() if v is not None}
    return await create_payin(resources, merchant.merchant_id, PayinInput(**fields))
