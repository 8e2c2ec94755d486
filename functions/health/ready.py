"""GET /health/ready: the role's dependencies answer; 503 naming the one that does not."""

from litestar import Response, get
from litestar.di import NamedDependency

from core.config import ROLES
from core.resources import Resources

ROLE = ROLES


@get("/health/ready", include_in_schema=False)
async def health_ready(resources: NamedDependency[Resources]) -> Response[dict[str, object]]:
    checks = await resources.check()
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body: dict[str, object] = {"status": "unavailable" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return Response(body, status_code=503 if failed else 200)
