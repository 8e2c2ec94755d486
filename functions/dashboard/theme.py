"""POST /settings/theme: the signed-in user's colour theme (auto, light or dark), remembered on its
row, then back to the page the form was on."""

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.users import set_theme
from core.dashboard.web import PAGE_ERRORS, PageError, signed_in
from core.resources import Resources

ROLE = "frontend"


@post("/settings/theme", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def theme(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role=None)
    form = await page.form()
    try:
        await set_theme(resources.db, str(page.session.user_id if page.session else ""), form.get("theme", ""))
    except ValueError as exc:
        raise PageError(422, str(exc)) from None
    back = urlsplit(request.headers.get("referer", ""))
    same_site = back.netloc in ("", request.url.netloc) and back.path.startswith("/") and not back.path.startswith("//")
    return page.redirect(back.path if same_site and back.path else "/")
