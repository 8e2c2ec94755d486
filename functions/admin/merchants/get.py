"""GET /admin/v1/merchants/{merchant_id}: one merchant with its keys (never their secrets)."""

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.merchants.service import get_merchant
from core.resources import Resources

ROLE = "api"


@get(
    "/admin/v1/merchants/{merchant_id:str}",
    opt={"admin_scope": "read"},
    **documented("adminGetMerchant", answers.Merchant),
)
async def get_one(merchant_id: FromPath[str], resources: NamedDependency[Resources]) -> dict[str, Any]:
    return await get_merchant(resources.db, merchant_id)
