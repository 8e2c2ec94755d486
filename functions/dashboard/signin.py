"""POST /signin: count the attempt (lockout per email and IP), check the password, start a fresh session."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard import sessions
from core.dashboard.users import authenticate
from core.dashboard.web import PAGE_ERRORS, any_visitor
from core.resources import Resources
from core.security import signin_lockout

ROLE = "frontend"


@post("/signin", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def signin(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await any_visitor(request, resources)
    form = await page.form()
    email, password = form.get("email", "").strip().lower(), form.get("password", "")
    redis = resources.redis
    attempt = await signin_lockout.begin(redis, email, page.ip)  # counted before the password is looked at
    if not attempt.allowed:
        minutes = (attempt.retry_after + 59) // 60
        return page.render(
            "signin.html", status=429, email=email, error=f"Too many failed sign-ins. Try again in {minutes} minutes."
        )
    user = await authenticate(resources.db, email, password)
    if user is None:
        return page.render("signin.html", status=401, email=email, error="Wrong email or password.")
    await signin_lockout.succeeded(redis, email, page.ip)
    if page.session is not None:
        await sessions.end_session(redis, page.session.id)
    # A new id at sign-in: a session id known before signing in (fixation) is worth nothing after.
    page.session = await sessions.new_session(redis, user)
    page.new_cookie = page.session.id
    return page.redirect("/manage/merchants" if user["role"] == "admin" else "/")
