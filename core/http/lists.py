"""The one list shape (§4.2): `?limit=` 1–100 (default 20), `?starting_after=<id>`, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from litestar.params import QueryParameter

from core.errors import ApiError

# The range is documented here and enforced by `checked_limit`, whose message names it.
Limit = Annotated[int, QueryParameter(description="page size", schema_extra={"minimum": 1, "maximum": 100})]
# An object id (`mer_01…`, `ple_01…`): anything else (a NUL byte, text PostgreSQL cannot hold) is
# refused as 422 before it reaches a store.
StartingAfter = Annotated[str | None, QueryParameter(max_length=64, pattern=r"^[a-z]{1,8}_[0-9A-Za-z]{1,56}$(?!\n)")]


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= 100:
        raise ApiError("validation_error", "limit must be between 1 and 100", param="limit")
    return limit


def page(data: Sequence[Any], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more}
