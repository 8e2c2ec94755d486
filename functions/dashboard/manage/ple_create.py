"""POST /manage/ples: create a provider legal entity from the form (`core.routing.create_ple`, as the
admin API does); a generated secret is shown in this answer only, a typed one is never shown."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from core.dashboard.admin import ples_context
from core.dashboard.fee_forms import plans_from_form
from core.dashboard.web import PAGE_ERRORS, signed_in
from core.errors import ApiError
from core.resources import Resources
from core.routing import create_ple

ROLE = "frontend"


@post("/manage/ples", exception_handlers=PAGE_ERRORS, include_in_schema=False)
async def ple_create(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[Any]:
    page = await signed_in(request, resources, role="admin")
    form = await page.form()
    try:
        created = await create_ple(
            resources,
            provider=form.get("provider", "").strip(),
            name=form.get("name", "").strip(),
            currency=form.get("currency", "").strip(),
            base_url=form.get("base_url", "").strip(),
            secret=form.get("secret") or None,
            fee_schedule=plans_from_form(form),
            actor=page.actor.name,
        )
    except ApiError as exc:
        if exc.code != "validation_error":
            raise
        return page.render("manage_ples.html", status=422, **await ples_context(page, error=exc.message))
    return page.render("manage_ples.html", status=201, **await ples_context(page, created=created))
