"""POST /team/{user_id}/role: give a member another role."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard import team as team_service
from core.dashboard.team import TeamError
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@post("/team/{user_id:str}/role", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def team_member_role(
    user_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, need="team:manage")
    form = await page.form()
    assert page.user is not None
    try:
        await team_service.change_role(
            resources, page.merchant_id, page.user, page.actor, user_id, form.get("team_role", "")
        )
    except TeamError as exc:
        return await team_service.render(page, status=exc.status, error=exc.message)
    return page.redirect("/team")
