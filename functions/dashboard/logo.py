"""GET /branding/logo.png: the client's logo (public: the sign-in page shows it)."""

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException

from core.dashboard.branding import branding_for
from core.resources import Resources

ROLE = "frontend"


@get("/branding/logo.png", include_in_schema=False)
async def logo(resources: NamedDependency[Resources]) -> Response[bytes]:
    path = branding_for(resources.settings.client).logo_path
    if path is None:
        raise NotFoundException()
    return Response(
        content=path.read_bytes(), media_type="image/png", headers={"Cache-Control": "public, max-age=3600"}
    )
