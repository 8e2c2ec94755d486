"""The merchant-facing view of the ledger: balances, the statement, manual adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import audit, ledger
from core.errors import ApiError, not_found
from core.ledger.amounts import MAX_AMOUNT
from core.merchants.store import fetch_merchant
from core.payments.inputs import CURRENCIES
from core.resources import Resources
from core.security.text import check_reference, check_text
from core.storage.postgres import Handle
from core.timeutil import iso

ENTRY_KINDS = (
    "payin_succeeded",
    "payout_hold",
    "payout_succeeded",
    "payout_failed",
    "payout_reversed",
    "manual_adjustment",
)


def public_entry(entry: ledger.Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "object": "ledger_entry",
        "kind": entry.kind,
        "transaction_id": entry.transaction_id,
        "currency": entry.currency,
        "created_at": iso(entry.created_at),
        "postings": [{"account": p.account_code.rsplit(":", 1)[-1], "amount": p.amount} for p in entry.postings],
        "net": sum(p.amount for p in entry.postings if p.account_code.endswith(":available")),
    }


async def balance(db: Handle, merchant_id: str) -> dict[str, Any]:
    return {"object": "balance", "data": await ledger.merchant_balances(db, merchant_id)}


async def statement(
    db: Handle,
    merchant_id: str,
    *,
    limit: int,
    starting_after: str | None,
    kind: str | None,
    created_gte: datetime | None,
    created_lt: datetime | None,
) -> tuple[list[dict[str, Any]], bool]:
    if kind is not None and kind not in ENTRY_KINDS:
        raise ApiError("validation_error", f"kind must be one of {', '.join(ENTRY_KINDS)}", param="kind")
    entries, has_more = await ledger.merchant_statement(
        db, merchant_id, limit, starting_after=starting_after, kind=kind, created_gte=created_gte, created_lt=created_lt
    )
    return [public_entry(e) for e in entries], has_more


async def adjust(
    res: Resources, merchant_id: str, *, amount: int, currency: str, reference: str, reason: str, actor: str
) -> dict[str, Any]:
    """A manual credit (negative: debit), idempotent on the merchant and reference; audited."""
    if type(amount) is not int or amount == 0 or abs(amount) > MAX_AMOUNT:
        raise ApiError("validation_error", f"amount must be a non-zero integer within ±{MAX_AMOUNT}", param="amount")
    if currency not in CURRENCIES:
        raise ApiError("validation_error", f"currency must be one of {', '.join(CURRENCIES)}", param="currency")
    check_reference(reference)  # strict (core/security/text.py): `R` and `R\n` are not two references
    check_text(reason, "reason", 500)
    if await fetch_merchant(res.db, merchant_id) is None:
        raise not_found("merchant")
    try:
        entry = await ledger.adjust_merchant_balance(res.db, merchant_id, currency, amount, reference, reason)
    except ledger.InsufficientFunds:
        raise ApiError("insufficient_funds", "the debit exceeds the available balance", param="amount") from None
    except ledger.AdjustmentConflict as exc:
        raise ApiError(
            "duplicate_reference",
            "an adjustment with this reference and another amount, currency or reason exists",
            param="reference",
            extra={"existing_id": exc.existing.id},
        ) from None
    assert entry is not None
    if entry.created:
        await audit.record(
            res.mongo,
            res.db,
            actor=actor,
            action="balance.adjusted",
            target=merchant_id,
            details={"amount": amount, "currency": currency, "reference": reference, "reason": reason},
        )
    return {**public_entry(entry), "replayed": not entry.created}
