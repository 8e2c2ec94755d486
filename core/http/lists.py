"""The one list shape (§4.2): `?limit=` 1–100 (default 20), `?starting_after=<id>`, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from litestar.params import QueryParameter

from core.errors import ApiError

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="page size, 1 to 100")]
StartingAfter = Annotated[str | None, QueryParameter(max_length=64)]


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= 100:
        raise ApiError("validation_error", "limit must be between 1 and 100", param="limit")
    return limit


def page(data: Sequence[Any], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more}
