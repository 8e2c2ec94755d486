"""POST /v1/payouts: hold amount + fee at once, then submit to the provider (§4.6)."""

from typing import Any, Literal

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.payments.payouts import PayoutInput, create_payout
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "payment"


class Beneficiary(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    account_number: str | None = None
    ifsc: str | None = None
    vpa: str | None = None


class PayoutCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: int
    currency: str
    reference: str
    mode: Literal["imps", "neft", "rtgs", "upi"]
    beneficiary: Beneficiary
    narration: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


@post("/v1/payouts", status_code=201)
async def create(
    data: JSONBody[PayoutCreate], merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]
) -> dict[str, Any]:
    fields = msgspec.structs.asdict(data)
    fields["beneficiary"] = {k: v for k, v in msgspec.structs.asdict(data.beneficiary).items() if v is not None}
    return await create_payout(resources, merchant.merchant_id, PayoutInput(**fields))
