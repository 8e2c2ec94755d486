"""POST /keys/{key_id}/revoke: revoke one of the merchant's keys."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.merchants.service import revoke_api_key
from core.resources import Resources

ROLE = "frontend"


@post("/keys/{key_id:str}/revoke", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def key_revoke(
    key_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, need="keys:write")
    await page.form()
    await revoke_api_key(resources, page.merchant_id, key_id, page.actor)
    return page.redirect("/keys")
