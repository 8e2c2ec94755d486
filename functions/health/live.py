"""GET /health/live: the process is up (no dependency is checked)."""

from litestar import get

from core.config import ROLES

ROLE = ROLES


@get("/health/live", include_in_schema=False, sync_to_thread=False)
def health_live() -> dict[str, str]:
    return {"status": "ok"}
