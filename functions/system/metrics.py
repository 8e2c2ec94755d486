"""GET /metrics: Prometheus exposition of this process's metrics."""

from litestar import Response, get

from core.config import ROLES
from core.observability.metrics import render_latest

ROLE = ROLES


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    body, content_type = render_latest()
    return Response(body, media_type=content_type)
