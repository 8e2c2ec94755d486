"""Field rules shared by payins and payouts; each failure names its field (§4.2)."""

from __future__ import annotations

import re
from typing import Any

from core.errors import ApiError

SUPPORTED_CURRENCIES = ("INR",)
MAX_PAYIN_AMOUNT = 10_000_000_00  # ₹1 crore in paise: larger collections go through a bank mandate
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
_REFERENCE = re.compile(r"^[A-Za-z0-9._:/\-]{1,64}$")


def bad(param: str, message: str) -> ApiError:
    return ApiError("validation_error", message, param=param)


def check_amount(amount: Any, maximum: int, minimum: int = 1) -> int:
    if type(amount) is not int:
        raise bad("amount", "amount must be an integer number of minor units")
    if amount < minimum:
        raise bad("amount", f"amount must be at least {minimum}")
    if amount > maximum:
        raise bad("amount", f"amount must be at most {maximum}")
    return amount


def check_currency(currency: str) -> str:
    if currency not in SUPPORTED_CURRENCIES:
        raise bad("currency", f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}")
    return currency


def check_reference(reference: str) -> str:
    if not _REFERENCE.match(reference):
        raise bad("reference", "reference must be 1-64 characters of letters, digits and . _ : / -")
    return reference


def check_email(email: str, param: str = "customer.email") -> str:
    if len(email) > 254 or not _EMAIL.match(email):
        raise bad(param, "email is not a valid address")
    return email


def check_phone(phone: str, param: str = "customer.phone") -> str:
    if not _PHONE.match(phone.replace(" ", "")):
        raise bad(param, "phone must be 8-15 digits, optionally with a leading +")
    return phone


def check_text(value: str, param: str, max_len: int, min_len: int = 1) -> str:
    if not min_len <= len(value) <= max_len or (min_len > 0 and not value.strip()):
        raise bad(param, f"{param} must be {min_len}-{max_len} characters")
    return value


def check_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if len(metadata) > 20:
        raise bad("metadata", "metadata has at most 20 keys")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 40:
            raise bad(f"metadata.{key}", "metadata keys are 1-40 characters")
        if not isinstance(value, str) or len(value) > 500:
            raise bad(f"metadata.{key}", "metadata values are strings of at most 500 characters")
    return dict(metadata)


def check_url(url: str | None, param: str) -> str | None:
    if url is None:
        return None
    if len(url) > 2048 or not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
        raise bad(param, f"{param} must be an http(s) URL")
    return url
