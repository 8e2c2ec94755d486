"""The filters of the payins, payouts and refunds pages, read from the query string.

The same parsed filters drive the page, its count and its CSV export (`/payins.csv?<same query>`),
so the file holds exactly the rows the page found. Days and presets are the client's timezone's
days (branding `timezone`), turned into UTC bounds here; amounts are typed in major units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from core.dashboard.money import minor_units
from core.errors import ApiError
from core.payments.listing import ListFilters
from core.payments.model import STATUSES, Kind, PayinMethod, PayoutMode

PAGE_SIZES = (25, 50, 100)
PRESETS = {"": "any time", "today": "today", "7d": "last 7 days", "month": "this month", "custom": "custom"}
FIELDS = ("status", "reference", "customer", "method", "mode", "amount_min", "amount_max", "period", "from", "to")
CHOICES: dict[Kind, dict[str, tuple[str, ...]]] = {
    Kind.PAYIN: {"method": tuple(PayinMethod)},
    Kind.PAYOUT: {"mode": tuple(PayoutMode)},
    Kind.REFUND: {},
}


@dataclass
class PageFilters:
    kind: Kind
    values: dict[str, str]  # as typed, re-shown in the form
    filters: ListFilters
    page: int = 1
    size: int = PAGE_SIZES[0]
    errors: list[str] = field(default_factory=list)

    def query(self, **change: Any) -> str:
        """This page's query string with `change` applied (page links, the export link)."""
        params: dict[str, Any] = {**self.values, "size": self.size if self.size != PAGE_SIZES[0] else None}
        params.update(change)
        return urlencode({k: v for k, v in params.items() if v not in (None, "") and (k, v) != ("page", 1)})


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def created_bounds(values: dict[str, str], zone: ZoneInfo, today: date) -> tuple[datetime | None, datetime | None]:
    """[from, to) in UTC for a preset or custom days (both inclusive days, in `zone`)."""
    period = values["period"]
    if period == "today":
        return _day_start(today, zone), _day_start(today + timedelta(days=1), zone)
    if period == "7d":
        return _day_start(today - timedelta(days=6), zone), _day_start(today + timedelta(days=1), zone)
    if period == "month":
        return _day_start(today.replace(day=1), zone), _day_start(today + timedelta(days=1), zone)
    low = date.fromisoformat(values["from"]) if values["from"] else None
    high = date.fromisoformat(values["to"]) if values["to"] else None
    return (
        _day_start(low, zone) if low else None,
        _day_start(high + timedelta(days=1), zone) if high else None,
    )


def read_filters(kind: Kind, params: Any, timezone: str, now: datetime | None = None) -> PageFilters:
    """Parse; a bad value is dropped from the query and named in `errors`, never a 500."""
    zone = ZoneInfo(timezone)
    values = {name: (params.get(name) or "").strip()[:100] for name in FIELDS}
    errors: list[str] = []
    allowed = {"status": STATUSES[kind], "period": tuple(PRESETS), **CHOICES[kind]}
    for name in ("status", "period", "method", "mode"):
        if values[name] and values[name] not in allowed.get(name, ()):
            values[name] = ""
    amounts: dict[str, int | None] = {}
    for name in ("amount_min", "amount_max"):
        try:
            amounts[name] = minor_units(values[name], name) if values[name] else None
        except ApiError as exc:
            errors.append(exc.message)
            values[name] = ""
            amounts[name] = None
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    try:
        created_gte, created_lt = created_bounds(values, zone, today)
    except ValueError:
        errors.append("Dates must be given as YYYY-MM-DD.")
        values["from"] = values["to"] = ""
        created_gte = created_lt = None
    try:
        size = int(params.get("size") or PAGE_SIZES[0])
        page = max(1, min(int(params.get("page") or 1), 100_000))
    except ValueError:
        size, page = PAGE_SIZES[0], 1
    filters = ListFilters(
        status=values["status"] or None,
        reference=values["reference"] or None,
        created_gte=created_gte,
        created_lt=created_lt,
        amount_gte=amounts["amount_min"],
        amount_lte=amounts["amount_max"],
        method=values["method"] or None,
        mode=values["mode"] or None,
        customer=values["customer"] or None if kind == Kind.PAYIN else None,
    )
    return PageFilters(kind, values, filters, page, size if size in PAGE_SIZES else PAGE_SIZES[0], errors)
