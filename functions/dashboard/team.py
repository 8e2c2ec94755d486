"""GET /team: the merchant's team members, their roles and the invite form (owners and admins)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard import team as team_service
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/team", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def team(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, need="team:manage")
    return await team_service.render(page)
