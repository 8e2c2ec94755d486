"""GET /: the merchant overview: balances, volume and success rate, a daily volume chart."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Redirect

from core.dashboard import sessions
from core.dashboard.chart import bar_chart
from core.dashboard.money import format_money
from core.dashboard.overview import overview as overview_numbers
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.resources import Resources

ROLE = "frontend"


@get("/", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def overview(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    session = await sessions.load_session(resources.redis, request.cookies.get(sessions.COOKIE))
    if session is not None and session.role == "admin":  # an admin's home is the merchants page
        return Redirect("/manage/merchants", status_code=303)
    page = await signed_in(request, resources)
    data = await overview_numbers(resources, page.merchant_id, page.brand.timezone)
    chart = bar_chart(
        data["daily_payin_volume"],
        title="Succeeded payin volume per day",
        accent=page.brand.accent_color,
        axis_label=lambda v: format_money(v, "INR", page.brand.locale),
    )
    return page.render("overview.html", data=data, chart=chart)
