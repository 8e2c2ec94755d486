"""What every dashboard page shares: rendering, the signed-in guard, CSRF-checked forms, error pages.

Pages are HTML, so errors are HTML too: each page handler passes `exception_handlers=PAGE_ERRORS`,
which overrides the app's JSON error shape for that route only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from core.dashboard import sessions
from core.dashboard.branding import Branding, branding_for
from core.dashboard.money import UNCHARGED, format_money
from core.dashboard.permissions import allowed
from core.dashboard.tables import label_table_cells
from core.dashboard.users import get_user
from core.errors import ApiError
from core.merchants.service import Actor
from core.resources import Resources

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@pass_context
def money(context: Context, amount: int | None, currency: str = "INR") -> str:
    """Minor units as the client's locale writes money: ₹1,23,45,678.00 for en_IN."""
    if amount is None:
        return "-"
    return format_money(int(amount), currency, context["brand"].locale)


@pass_context
def when(context: Context, value: Any) -> str:
    """ISO strings and datetimes in the client's timezone: `2026-11-23 15:45:00 IST`."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(ZoneInfo(context["brand"].timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)


_env.filters["money"] = money
_env.filters["when"] = when
_env.globals["uncharged"] = UNCHARGED


class PageError(Exception):
    """An error page: 403, 404, 429... with a message a person can read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInRequired(Exception):
    pass


class Page:
    """One request's context: the session, the user, the branding; renders templates."""

    def __init__(self, request: Request[Any, Any, Any], resources: Resources, session: sessions.Session | None) -> None:
        self.request = request
        self.resources = resources
        self.session = session
        self.new_cookie: str | None = None
        self.user: dict[str, Any] | None = None  # the signed-in user's current row (team role, ...)

    @property
    def merchant_id(self) -> str:
        assert self.session is not None and self.session.merchant_id is not None
        return self.session.merchant_id

    @property
    def actor(self) -> Actor:
        ip = str(self.request.scope.get("state", {}).get("client_ip", "")) or None
        user = self.session.user_id if self.session else None
        return Actor(f"user:{user}", ip)

    @property
    def brand(self) -> Branding:
        return branding_for(self.resources.settings.client)

    @property
    def ip(self) -> str:
        return str(self.request.scope.get("state", {}).get("client_ip", ""))

    def render(self, template: str, status: int = 200, **context: Any) -> Response[Any]:
        settings = self.resources.settings
        nonce = secrets.token_urlsafe(16)
        html = label_table_cells(
            _env.get_template(template).render(
                brand=branding_for(settings.client),
                session=self.session,
                path=self.request.url.path,
                csp_nonce=nonce,
                can=self.can,
                theme=(self.user or {}).get("theme") or "auto",
                **context,
            )
        )
        headers = {**NO_STORE, "Content-Security-Policy": content_security_policy(nonce)}
        response: Response[Any] = Response(
            content=html, status_code=status, media_type="text/html; charset=utf-8", headers=headers
        )
        self._set_cookie(response)
        return response

    def can(self, need: str) -> bool:
        """May the signed-in merchant user do `need` (core/dashboard/permissions.py)?"""
        return self.user is not None and allowed(self.user["team_role"], need)

    def _set_cookie(self, response: Response[Any]) -> None:
        if self.new_cookie is not None and self.session is not None:
            max_age = sessions.lifetime(self.session)  # the cookie lives exactly as long as the session
            response.set_cookie(session_cookie(self.resources, self.new_cookie, max_age=max_age))

    async def form(self) -> dict[str, str]:
        """The posted form; refuses (403) a post without this session's CSRF token."""
        form = await self.request.form()
        data = {k: str(v) for k, v in form.items()}
        if not sessions.csrf_ok(self.session, data.get("csrf_token")):
            raise PageError(403, "This form has expired or did not come from this site. Reload the page and try again.")
        return data

    def redirect(self, path: str) -> Response[Any]:
        response: Response[Any] = Redirect(path, status_code=303)
        self._set_cookie(response)
        return response


NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def content_security_policy(nonce: str) -> str:
    """Each page's own policy, whatever sits in front of the frontend: nothing but its one style
    block (by nonce), its own images and forms; no scripts, frames, plugins or <base>."""
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def session_cookie(resources: Resources, session_id: str, max_age: int) -> Cookie:
    return Cookie(
        key=sessions.COOKIE,
        value=session_id,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=resources.settings.environment == "production",
    )


async def any_visitor(request: Request[Any, Any, Any], resources: Resources) -> Page:
    """The session if there is one, else a new anonymous one (carrying a CSRF token)."""
    session = await sessions.load_session(resources.redis, request.cookies.get(sessions.COOKIE))
    page = Page(request, resources, session)
    if session is None:
        page.session = await sessions.new_session(resources.redis)
        page.new_cookie = page.session.id
    return page


async def signed_in(
    request: Request[Any, Any, Any],
    resources: Resources,
    *,
    role: str | None = "merchant",
    need: str = "dashboard:read",
) -> Page:
    """The signed-in user's page context; redirects to sign-in, refuses (403) the wrong role or a
    merchant user whose team role lacks `need` in the permission table (core/dashboard/permissions.py).
    `role=None`: any signed-in user (a setting of one's own, such as the colour theme)."""
    session = await sessions.load_session(resources.redis, request.cookies.get(sessions.COOKIE))
    if session is None or not session.signed_in:
        raise SignInRequired()
    user = await get_user(resources.db, str(session.user_id))
    # Disabling a user or resetting its password ends its sessions (at their next click).
    if user is None or user["disabled"] or user["session_epoch"] != session.epoch:
        await sessions.end_session(resources.redis, session.id)
        raise SignInRequired()
    page = Page(request, resources, session)
    page.user = user
    if (role is not None and session.role != role) or (role == "merchant" and not page.can(need)):
        raise PageError(403, "This page is not available to your account.")
    return page


def _error_page(request: Request[Any, Any, Any], status: int, message: str) -> Response[Any]:
    resources: Resources = request.app.state.resources
    session = request.scope.get("state", {}).get("_dashboard_session")
    return Page(request, resources, session).render("error.html", status=status, status_code=status, message=message)


def _page_error(request: Request[Any, Any, Any], exc: PageError) -> Response[Any]:
    return _error_page(request, exc.status, exc.message)


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    if exc.code == "not_found":
        return _error_page(request, 404, "Not found.")
    return _error_page(request, exc.status_code, exc.message if exc.status_code < 500 else "Something went wrong.")


def _sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    return Redirect("/signin", status_code=303)


PAGE_ERRORS: dict[Any, Any] = {PageError: _page_error, ApiError: _api_error, SignInRequired: _sign_in}
