"""Money values and account codes of the ledger: pure checks, no database.

Amounts are integers of minor units. MAX_AMOUNT bounds every single amount (a posting, a fee, a
payin or payout): 10**15 minor units (10 trillion rupees in paise), far below the 64-bit limit of
a bigint (about 9.2 * 10**18), so no sum of a few legs and no cached balance short of thousands of
maximal credits can overflow. Larger values are rejected with ValueError before any SQL runs.
"""

from __future__ import annotations

import re

MAX_AMOUNT = 10**15

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ID = r"[A-Za-z0-9_.-]{1,64}"
_ACCOUNT = re.compile(
    rf"^(?:merchant:{_ID}:(?:available|reserved)"
    rf"|ple:{_ID}:(?:clearing|fees_payable)"
    r"|platform:(?:revenue|provider_fees|adjustments))$"
)
_ID_ONLY = re.compile(rf"^{_ID}$")


def check_amount(value: object, name: str = "amount", *, allow_negative: bool = False) -> int:
    """`value` as a validated int of minor units: not a bool or float, |value| <= MAX_AMOUNT."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of minor units, got {type(value).__name__}")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{name} exceeds the maximum of {MAX_AMOUNT} minor units")
    if value < 0 and not allow_negative:
        raise ValueError(f"{name} must not be negative")
    return value


def check_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise ValueError(f"currency must be three upper-case letters, got {value!r}")
    return value


def check_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not _ID_ONLY.match(value):
        raise ValueError(f"{name} must be 1-64 characters of [A-Za-z0-9_.-], got {value!r}")
    return value


def check_account(code: object) -> str:
    if not isinstance(code, str) or not _ACCOUNT.match(code):
        raise ValueError(f"unknown account code {code!r} (ARCHITECTURE §6 lists the accounts)")
    return code


def is_merchant_account(code: str) -> bool:
    return code.startswith("merchant:")


def available(merchant_id: str) -> str:
    return f"merchant:{merchant_id}:available"


def reserved(merchant_id: str) -> str:
    return f"merchant:{merchant_id}:reserved"


def clearing(ple_id: str) -> str:
    return f"ple:{ple_id}:clearing"


def fees_payable(ple_id: str) -> str:
    return f"ple:{ple_id}:fees_payable"


PLATFORM_REVENUE = "platform:revenue"
PLATFORM_PROVIDER_FEES = "platform:provider_fees"
PLATFORM_ADJUSTMENTS = "platform:adjustments"
