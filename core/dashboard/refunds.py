"""A merchant refunds a payin from its page (ARCHITECTURE §4.9): the form, its checks, the refunds shown.

The form goes through the same service as `POST /v1/refunds` (`create_refund`): the guard, the
hold and every error code are the API's. The form carries a reference minted when the page was
drawn, so a double-click or a re-posted form is the same refund, refused as `duplicate_reference`
instead of refunding twice.
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from core.dashboard.web import Page
from core.errors import ApiError
from core.payments.inputs import RefundCreate
from core.payments.listing import ListFilters, list_transactions
from core.payments.model import Kind, PayinStatus, RefundStatus
from core.payments.refunds import create_refund
from core.payments.views import PayinView, RefundView, refund_view

MINOR_DIGITS = 2  # every currency the gateway accepts (INR, USD, EUR…) has two decimals
_MAJOR = re.compile(r"\d{1,12}(\.\d{1,2})?")


def minor_units(text: str, param: str = "amount") -> int:
    """`"1,250.50"` → 125050. Merchants type amounts in rupees, never in paise."""
    cleaned = text.strip().replace(",", "")
    if not _MAJOR.fullmatch(cleaned):
        raise ApiError("validation_error", "amount must be a number like 250 or 250.50", param=param)
    try:
        value = Decimal(cleaned) * (10**MINOR_DIGITS)
    except InvalidOperation:
        raise ApiError("validation_error", "amount must be a number like 250 or 250.50", param=param) from None
    if value <= 0:
        raise ApiError("validation_error", "amount must be more than zero", param=param)
    return int(value)


async def refund_panel(page: Page, payin: PayinView) -> dict[str, Any]:
    """The refunds of one payin and what may still be refunded (the guard in PostgreSQL decides)."""
    refunds, _ = await list_transactions(
        page.resources, Kind.REFUND, merchant_id=page.merchant_id, limit=100, filters=ListFilters(payin_id=payin.id)
    )
    committed = sum(r.amount for r in refunds if r.status != RefundStatus.FAILED)
    refundable = max(payin.amount - committed, 0) if payin.status == PayinStatus.SUCCEEDED else 0
    return {
        "refunds": [msgspec.to_builtins(refund_view(r)) for r in refunds],
        "refundable": refundable,
        "refund_reference": f"dash-{secrets.token_hex(8)}",
    }


async def refund_from_form(page: Page, payin_id: str, form: dict[str, str]) -> RefundView:
    """Create the refund the form asks for; every refusal is an `ApiError` with the API's code."""
    if form.get("confirm") != "yes":
        raise ApiError("validation_error", "tick the box to confirm the refund", param="confirm")
    amount_text = form.get("amount", "").strip()
    fields: dict[str, Any] = {"payin_id": payin_id, "reference": form.get("reference", "").strip()}
    if amount_text:  # empty: the rest of the payin, as the API's default
        fields["amount"] = minor_units(amount_text)
    if reason := form.get("reason", "").strip():
        fields["reason"] = reason
    try:
        data = msgspec.convert(fields, RefundCreate)  # the API's own constraints
    except msgspec.ValidationError as exc:
        raise ApiError("validation_error", str(exc)) from None
    return await create_refund(page.resources, page.merchant_id, data)
