"""POST /keys: a new API key; its secret is in this answer only."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.merchants.service import create_api_key, get_merchant
from core.resources import Resources

ROLE = "frontend"


@post("/keys", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def key_create(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, need="keys:write")
    await page.form()
    created, error, status = None, None, 201
    try:
        created = await create_api_key(resources, page.merchant_id, page.actor)
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        error, status = exc.message, 422
    merchant = await get_merchant(resources.db, page.merchant_id)
    return page.render("keys.html", status=status, keys=merchant["api_keys"], created=created, error=error)
