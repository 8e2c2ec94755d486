"""POST /team/invite: a new member without a password, and its one-time set-password link shown once."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard import team as team_service
from core.dashboard.team import TeamError
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@post("/team/invite", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def team_invite(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, need="team:manage")
    form = await page.form()
    assert page.user is not None
    try:
        invited, token = await team_service.invite(
            resources, page.merchant_id, page.user, page.actor, form.get("email", ""), form.get("team_role", "")
        )
    except TeamError as exc:
        return await team_service.render(page, status=exc.status, error=exc.message)
    link = team_service.link_url(page, token)
    return await team_service.render(page, status=201, invited=invited, invite_link=link)
