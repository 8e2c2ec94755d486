"""The request bodies of the payments API, validated in one layer (ARCHITECTURE §4.2, §4.5, §4.6, §4.9).

Each struct is decoded once, strictly, from the verified body (core/http/strict_body.py): types,
lengths, patterns and ranges are `msgspec.Meta` constraints, so a bad field is a 422 naming it
before any service runs, and the same constraints document the OpenAPI schema. Only rules that
involve two fields or a setting stay as code, below.

Patterns end in `$(?!\\n)`: Python's `$` also matches before a final newline, so `"R\\n"` would
pass a plain `^...$` and be a second reference beside `"R"` (a review finding).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta

from core.errors import ApiError
from core.payments.model import PayinMethod, PayoutMode
from core.security.text import CONTROL_CLASS, has_control_characters

MAX_PAYIN_AMOUNT = 10_000_000_00  # ₹1 crore in paise: larger collections go through a bank mandate
# Per payout mode (minor units, INR): IMPS ₹1-₹5,00,000; NEFT ₹1-₹1,00,00,000 (the gateway's cap);
# RTGS ₹2,00,000-₹1,00,00,000 (large values only); UPI ₹1-₹1,00,000.
PAYOUT_LIMITS = {
    PayoutMode.IMPS: (100, 5_00_000_00),
    PayoutMode.NEFT: (100, 1_00_00_000_00),
    PayoutMode.RTGS: (2_00_000_00, 1_00_00_000_00),
    PayoutMode.UPI: (100, 1_00_000_00),
}
_NO_CONTROL = f"[^{CONTROL_CLASS}]"  # one definition with admin text (core/security/text.py)

Currency = Literal["INR"]
CURRENCIES: tuple[str, ...] = get_args(Currency)
Amount = Annotated[int, Meta(ge=1, description="amount must be a positive integer number of minor units")]
Reference = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:/\-]+$(?!\n)",
        description="reference must be 1-64 characters of letters, digits and . _ : / -",
    ),
]


def text(max_length: int, field: str) -> object:
    """A line of human text: 1..max_length characters, not blank, no control characters."""
    return Meta(
        min_length=1,
        max_length=max_length,
        pattern=rf"^(?=.*\S){_NO_CONTROL}+$(?!\n)",
        description=f"{field} must be 1-{max_length} characters without control characters",
    )


Email = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$(?!\n)",
        description="email is not a valid address",
    ),
]
Phone = Annotated[
    str,
    Meta(
        pattern=r"^\+?(?:[0-9] ?){7,14}[0-9]$(?!\n)",
        description="phone must be 8-15 digits, optionally with a leading + and single spaces",
    ),
]
Url = Annotated[
    str,
    Meta(
        max_length=2048,
        pattern=r"^https?://[^\s/$.?#][^\s]*$(?!\n)",
        description="an http(s) URL of at most 2048 characters",
    ),
]
Metadata = Annotated[
    dict[str, str],
    Meta(max_length=20, description="up to 20 string keys (1-40 characters) with string values (≤ 500)"),
]
AccountNumber = Annotated[str, Meta(pattern=r"^[0-9]{6,18}$(?!\n)", description="account_number must be 6-18 digits")]
Ifsc = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z]{4}0[A-Z0-9]{6}$(?!\n)",
        description="ifsc must be 4 letters, a 0, then 6 letters or digits (e.g. HDFC0001234)",
    ),
]
Vpa = Annotated[
    str,
    Meta(
        max_length=320,
        pattern=r"^[A-Za-z0-9._\-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$(?!\n)",
        description="vpa must look like name@bank",
    ),
]


class CustomerIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, text(200, "customer.name")]
    email: Email
    phone: Phone | None = None


class PayinCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    amount: Annotated[int, Meta(ge=1, le=MAX_PAYIN_AMOUNT, description=f"amount must be 1-{MAX_PAYIN_AMOUNT}")]
    currency: Currency
    reference: Reference
    method: PayinMethod
    customer: CustomerIn
    expires_in_minutes: Annotated[int, Meta(ge=1)] | None = None
    return_url: Url | None = None
    metadata: Metadata = {}


class BeneficiaryIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, text(100, "beneficiary.name")]
    account_number: AccountNumber | None = None
    ifsc: Ifsc | None = None
    vpa: Vpa | None = None


class PayoutCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    amount: Amount
    currency: Currency
    reference: Reference
    mode: PayoutMode
    beneficiary: BeneficiaryIn
    narration: Annotated[str, text(50, "narration")] | None = None
    metadata: Metadata = {}


class RefundCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    payin_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^pi_[0-9A-Z]+$(?!\n)")]
    reference: Reference
    amount: Amount | None = None  # default: what is still refundable
    reason: Annotated[str, text(200, "reason")] | None = None
    metadata: Metadata = {}


def bad(param: str, message: str) -> ApiError:
    return ApiError("validation_error", message, param=param)


def check_metadata(metadata: dict[str, str]) -> None:
    """Per-entry limits, naming the entry (`metadata.<key>`), which a constraint cannot."""
    for key, value in metadata.items():
        if not 1 <= len(key) <= 40 or has_control_characters(key):
            raise bad(f"metadata.{key}", "metadata keys are 1-40 characters without control characters")
        if len(value) > 500:
            raise bad(f"metadata.{key}", "metadata values are strings of at most 500 characters")


def check_payin(data: PayinCreate, max_expire_minutes: int) -> None:
    check_metadata(data.metadata)
    if data.expires_in_minutes is not None and data.expires_in_minutes > max_expire_minutes:
        raise bad("expires_in_minutes", f"expires_in_minutes must be 1-{max_expire_minutes}")


def check_payout(data: PayoutCreate) -> None:
    """Mode and beneficiary agree (an account for bank modes, a VPA for UPI); the amount is
    within the mode's limits."""
    check_metadata(data.metadata)
    b = data.beneficiary
    if data.mode == PayoutMode.UPI:
        if not b.vpa:
            raise bad("beneficiary.vpa", "upi payouts need beneficiary.vpa")
        if b.account_number or b.ifsc:
            raise bad("beneficiary.account_number", "upi payouts take a vpa, not a bank account")
    else:
        if b.vpa:
            raise bad("beneficiary.vpa", f"{data.mode} payouts take account_number and ifsc, not a vpa")
        if not b.account_number:
            raise bad("beneficiary.account_number", f"{data.mode} payouts need beneficiary.account_number")
        if not b.ifsc:
            raise bad("beneficiary.ifsc", f"{data.mode} payouts need beneficiary.ifsc")
    low, high = PAYOUT_LIMITS[data.mode]
    if not low <= data.amount <= high:
        raise bad("amount", f"{data.mode} payouts are {low}-{high} minor units")
