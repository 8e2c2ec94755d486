"""GET /v1/balance: available and reserved, one item per currency the merchant has."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency

from core.balances import balance
from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth

ROLE = "api"


@get("/v1/balance", **documented("getBalance", answers.Balance))
async def get_balance(merchant: NamedDependency[MerchantAuth], resources: NamedDependency[Resources]) -> dict[str, Any]:
    return await balance(resources.db, merchant.merchant_id)
