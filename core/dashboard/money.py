"""Money as merchants read and type it: shown in the client's locale (Babel), typed in major units.

The gateway stores integer minor units (ARCHITECTURE §6); every currency it accepts has two
decimals, so 1 major unit is 100 minor units.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import format_currency

from core.errors import ApiError

MINOR_DIGITS = 2
# A payin's fee is taken only when it succeeds; a payout's is given back when it fails or is
# reversed: in these states no fee was charged, whatever the document's `fee` says it would be.
UNCHARGED = frozenset({"failed", "expired", "reversed"})


def fee_charged(status: str, fee: int) -> int:
    return 0 if status in UNCHARGED else fee


_MAJOR = re.compile(r"\d{1,12}(\.\d{1,2})?")


def format_money(amount: int, currency: str, locale: str) -> str:
    """125050 INR in en_IN → `₹1,250.50`; 12345678900 → `₹12,34,56,789.00`."""
    return format_currency(Decimal(amount).scaleb(-MINOR_DIGITS), currency, locale=locale)


def minor_units(text: str, param: str = "amount") -> int:
    """`"1,250.50"` → 125050. Merchants type amounts in rupees, never in paise."""
    cleaned = text.strip().replace(",", "")
    label = param.replace("_", " ").capitalize()
    if not _MAJOR.fullmatch(cleaned):
        raise ApiError("validation_error", f"{label} must be a number like 250 or 250.50", param=param)
    value = int(Decimal(cleaned).scaleb(MINOR_DIGITS))
    if value <= 0:
        raise ApiError("validation_error", f"{label} must be more than zero", param=param)
    return value
