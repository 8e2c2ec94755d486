"""Per-client branding from clients/<CLIENT>/.env.dashboard: name, accent colour, logo, and how
money and time read to that client's merchants (locale for Babel, IANA timezone)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = tuple(f"DASHBOARD_{n}" for n in ("DISPLAY_NAME", "ACCENT_COLOR", "LOGO", "LOCALE", "TIMEZONE"))
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Branding:
    display_name: str
    accent_color: str
    logo_path: Path | None
    locale: str = "en_IN"  # ₹1,23,45,678.00: the grouping Indian merchants read
    timezone: str = "Asia/Kolkata"  # day boundaries of filters, presets and times shown


def _locale(value: str | None) -> str:
    try:
        return str(Locale.parse(value)) if value else "en_IN"
    except (UnknownLocaleError, ValueError):
        return "en_IN"


def _timezone(value: str | None) -> str:
    try:
        return ZoneInfo(value).key if value else "Asia/Kolkata"
    except (ZoneInfoNotFoundError, ValueError):
        return "Asia/Kolkata"


@lru_cache(maxsize=8)
def branding_for(client: str) -> Branding:
    """The file's values; the process environment wins (compose passes the file as env_file)."""
    values = {k: v for k, v in dotenv_values(ROOT / "clients" / client / ".env.dashboard").items() if v}
    for name in (
        "DASHBOARD_DISPLAY_NAME",
        "DASHBOARD_ACCENT_COLOR",
        "DASHBOARD_LOGO",
        "DASHBOARD_LOCALE",
        "DASHBOARD_TIMEZONE",
    ):
        if os.environ.get(name):
            values[name] = os.environ[name]
    colour = values.get("DASHBOARD_ACCENT_COLOR", "")
    logo = None
    # In the container the logo is mounted at DASHBOARD_LOGO; in a checkout it is clients/<c>/<c>.png.
    for candidate in (values.get("DASHBOARD_LOGO"), str(ROOT / "clients" / client / f"{client}.png")):
        if candidate and Path(candidate).is_file():
            logo = Path(candidate)
            break
    return Branding(
        display_name=values.get("DASHBOARD_DISPLAY_NAME") or "Payment gateway",
        accent_color=colour if _COLOUR.match(colour) else "#2f6fde",
        logo_path=logo,
        locale=_locale(values.get("DASHBOARD_LOCALE")),
        timezone=_timezone(values.get("DASHBOARD_TIMEZONE")),
    )
