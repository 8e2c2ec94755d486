"""POST /signout: end the session."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Redirect

from core.dashboard import sessions
from core.dashboard.web import PAGE_ERRORS, any_visitor
from core.resources import Resources

ROLE = "frontend"


@post("/signout", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def signout(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await any_visitor(request, resources)
    await page.form()
    if page.session is not None:
        await sessions.end_session(resources.redis, page.session.id)
    response: Response[Any] = Redirect("/signin", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response
