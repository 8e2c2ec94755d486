"""GET /signin: the sign-in form (an anonymous session carries its CSRF token)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from core.dashboard.web import PAGE_ERRORS, any_visitor
from core.resources import Resources

ROLE = "frontend"


@get("/signin", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def signin_form(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await any_visitor(request, resources)
    if page.session is not None and page.session.signed_in:
        return page.redirect("/manage/merchants" if page.session.role == "admin" else "/")
    return page.render("signin.html", password_set=request.query_params.get("password") == "set")
