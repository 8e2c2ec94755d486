"""CSV export of exactly the rows a payins, payouts or refunds page found, streamed.

Rows are read in batches by id cursor (`every_transaction`) and written as they come, so an
export of any size holds one batch in memory. Amounts are minor units, as in the API, so a
spreadsheet never re-parses a formatted number; times are UTC ISO 8601.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

from core.dashboard.money import fee_charged
from core.payments.listing import ListFilters, every_transaction
from core.payments.model import Kind
from core.resources import Resources
from core.timeutil import iso

COMMON = ("id", "created_at", "status", "reference", "currency", "amount")
Column = tuple[str, Callable[[Any], Any]]
EXTRA: dict[Kind, tuple[Column, ...]] = {
    Kind.PAYIN: (
        ("method", lambda t: t.method),
        ("fee_charged", lambda t: fee_charged(t.status, t.fee)),
        ("amount_refunded", lambda t: t.amount_refunded),
        ("customer_email", lambda t: t.customer.email),
        ("customer_phone", lambda t: t.customer.phone or ""),
        ("provider_reference", lambda t: t.provider_reference or ""),
    ),
    Kind.PAYOUT: (
        ("mode", lambda t: t.mode),
        ("fee_charged", lambda t: fee_charged(t.status, t.fee)),
        ("beneficiary_name", lambda t: t.beneficiary.name),
        ("beneficiary_account", lambda t: t.beneficiary.account_mask or t.beneficiary.vpa_mask or ""),
        ("needs_review", lambda t: "yes" if t.needs_review else ""),
        ("provider_reference", lambda t: t.provider_reference or ""),
    ),
    Kind.REFUND: (
        ("payin_id", lambda t: t.payin_id),
        ("reason", lambda t: t.reason or ""),
        ("needs_review", lambda t: "yes" if t.needs_review else ""),
        ("provider_reference", lambda t: t.provider_reference or ""),
    ),
}


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


async def csv_rows(res: Resources, kind: Kind, merchant_id: str, filters: ListFilters) -> AsyncIterator[str]:
    """The header, then one line per matching transaction, newest first."""
    extra = EXTRA[kind]
    yield _line([*COMMON, *(name for name, _ in extra)])
    async for t in every_transaction(res, kind, merchant_id=merchant_id, filters=filters):
        common = [t.id, iso(t.created_at), t.status, t.reference, t.currency, t.amount]
        yield _line([*common, *(value(t) for _, value in extra)])
