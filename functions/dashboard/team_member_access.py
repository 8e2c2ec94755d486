"""POST /team/{user_id}/access: disable a member (its sessions end, it cannot sign in) or enable it again."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard import team as team_service
from core.dashboard.team import TeamError
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@post("/team/{user_id:str}/access", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def team_member_access(
    user_id: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await signed_in(request, resources, need="team:manage")
    form = await page.form()
    assert page.user is not None
    disabled = form.get("disabled") == "true"
    try:
        await team_service.set_disabled(resources, page.merchant_id, page.user, page.actor, user_id, disabled)
    except TeamError as exc:
        return await team_service.render(page, status=exc.status, error=exc.message)
    return page.redirect("/team")
