"""POST /reset/{token}: set the password through a one-time link; the link dies and every session
of the user ends (core/dashboard/password_links.py)."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.dashboard import password_links
from core.dashboard.users import MIN_PASSWORD
from core.dashboard.web import PAGE_ERRORS, any_visitor
from core.resources import Resources

ROLE = "frontend"


@post("/reset/{token:str}", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def password_link_set(
    token: FromPath[str], request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Any]:
    page = await any_visitor(request, resources)
    form = await page.form()
    user = await password_links.holder(resources.db, token)
    if user is None:
        return page.render("password_link.html", status=404)
    password, error = form.get("password", ""), None
    if password != form.get("confirm", ""):
        error = "The two passwords differ."
    else:
        try:
            if (
                await password_links.use(resources.db, token, password) is None
            ):  # used by a concurrent request meanwhile
                return page.render("password_link.html", status=404)
        except ValueError as exc:
            error = str(exc).capitalize() + "."
    if error is not None:
        shown = {"email": user["email"], "purpose": user["purpose"], "action": password_links.PATH + token}
        return page.render("password_link.html", status=422, error=error, min_password=MIN_PASSWORD, **shown)
    return page.redirect("/signin?password=set")
