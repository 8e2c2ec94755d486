"""GET /reset/{token}: the set-password form of a one-time invite or reset link (a dead link says so)."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard import password_links
from core.dashboard.users import MIN_PASSWORD
from core.dashboard.web import PAGE_ERRORS, any_visitor
from core.resources import Resources

ROLE = "frontend"


@get("/reset/{token:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def password_link_form(
    token: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await any_visitor(request, resources)
    user = await password_links.holder(resources.db, token)
    if user is None:
        return page.render("password_link.html", status=404)
    return page.render(
        "password_link.html",
        email=user["email"],
        purpose=user["purpose"],
        action=password_links.PATH + token,
        min_password=MIN_PASSWORD,
    )
