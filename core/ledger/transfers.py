"""The transfers of ARCHITECTURE §6, one function per row: no caller composes postings by hand.

A transfer of n from A to B debits A (-n) and credits B (+n). Legs of zero are omitted; an entry
with nothing left to post returns None. Each idempotency key is derived from the transaction, so a
retried job or a duplicated callback posts nothing twice (docs/ledger.md lists the keys).
"""

from __future__ import annotations

from datetime import date

from core.ledger.amounts import (
    PLATFORM_ADJUSTMENTS,
    PLATFORM_PROVIDER_FEES,
    PLATFORM_REVENUE,
    available,
    check_amount,
    check_currency,
    check_id,
    clearing,
    fees_payable,
    reserved,
)
from core.ledger.posting import Entry, EntrySpec, PostingSpec, post, post_entry
from core.storage.postgres import Handle


def _transfer(source: str, target: str, currency: str, amount: int) -> tuple[PostingSpec, ...]:
    return ((source, currency, -amount), (target, currency, amount))


def _money(currency: str, amount: int, fee: int = 0) -> None:
    check_currency(currency)
    check_amount(amount, "amount")
    check_amount(fee, "fee")


def payin_credit(payin_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int) -> EntrySpec:
    """Payin succeeded: amount - fee from PLE clearing to merchant available, fee to revenue."""
    check_id(merchant_id, "merchant_id")
    check_id(ple_id, "ple_id")
    _money(currency, amount, fee)
    if fee > amount:
        raise ValueError("fee exceeds the payin amount")
    return EntrySpec(
        kind="payin_succeeded",
        key=f"payin:{payin_id}:succeeded",
        transaction_id=payin_id,
        postings=_transfer(clearing(ple_id), available(merchant_id), currency, amount - fee)
        + _transfer(clearing(ple_id), PLATFORM_REVENUE, currency, fee),
        merchant_id=merchant_id,
        metadata={"amount": amount, "fee": fee, "ple_id": ple_id},
    )


async def credit_payin(
    db: Handle, payin_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int
) -> Entry | None:
    return await post(db, payin_credit(payin_id, merchant_id, ple_id, currency, amount, fee))


def payout_hold(payout_id: str, merchant_id: str, currency: str, amount: int, fee: int) -> EntrySpec:
    """Payout created: amount + fee from merchant available to merchant reserved.

    Raises InsufficientFunds when available < amount + fee (nothing written)."""
    check_id(merchant_id, "merchant_id")
    _money(currency, amount, fee)
    return EntrySpec(
        kind="payout_hold",
        key=f"payout:{payout_id}:hold",
        transaction_id=payout_id,
        postings=_transfer(available(merchant_id), reserved(merchant_id), currency, amount + fee),
        merchant_id=merchant_id,
        metadata={"amount": amount, "fee": fee},
    )


async def hold_payout_funds(
    db: Handle, payout_id: str, merchant_id: str, currency: str, amount: int, fee: int
) -> Entry | None:
    return await post(db, payout_hold(payout_id, merchant_id, currency, amount, fee))


def payout_settlement(payout_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int) -> EntrySpec:
    """Payout succeeded: amount from merchant reserved to PLE clearing, fee to revenue."""
    check_id(merchant_id, "merchant_id")
    check_id(ple_id, "ple_id")
    _money(currency, amount, fee)
    return EntrySpec(
        kind="payout_succeeded",
        key=f"payout:{payout_id}:succeeded",
        transaction_id=payout_id,
        postings=_transfer(reserved(merchant_id), clearing(ple_id), currency, amount)
        + _transfer(reserved(merchant_id), PLATFORM_REVENUE, currency, fee),
        merchant_id=merchant_id,
        metadata={"amount": amount, "fee": fee, "ple_id": ple_id},
    )


async def settle_payout(
    db: Handle, payout_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int
) -> Entry | None:
    return await post(db, payout_settlement(payout_id, merchant_id, ple_id, currency, amount, fee))


def payout_release(payout_id: str, merchant_id: str, currency: str, amount: int, fee: int) -> EntrySpec:
    """Payout failed: amount + fee from merchant reserved back to merchant available."""
    check_id(merchant_id, "merchant_id")
    _money(currency, amount, fee)
    return EntrySpec(
        kind="payout_failed",
        key=f"payout:{payout_id}:failed",
        transaction_id=payout_id,
        postings=_transfer(reserved(merchant_id), available(merchant_id), currency, amount + fee),
        merchant_id=merchant_id,
        metadata={"amount": amount, "fee": fee},
    )


async def release_payout_funds(
    db: Handle, payout_id: str, merchant_id: str, currency: str, amount: int, fee: int
) -> Entry | None:
    return await post(db, payout_release(payout_id, merchant_id, currency, amount, fee))


def payout_reversal(payout_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int) -> EntrySpec:
    """Payout reversed (after success): amount from PLE clearing and fee from revenue back to
    merchant available."""
    check_id(merchant_id, "merchant_id")
    check_id(ple_id, "ple_id")
    _money(currency, amount, fee)
    return EntrySpec(
        kind="payout_reversed",
        key=f"payout:{payout_id}:reversed",
        transaction_id=payout_id,
        postings=_transfer(clearing(ple_id), available(merchant_id), currency, amount)
        + _transfer(PLATFORM_REVENUE, available(merchant_id), currency, fee),
        merchant_id=merchant_id,
        metadata={"amount": amount, "fee": fee, "ple_id": ple_id},
    )


async def reverse_payout(
    db: Handle, payout_id: str, merchant_id: str, ple_id: str, currency: str, amount: int, fee: int
) -> Entry | None:
    return await post(db, payout_reversal(payout_id, merchant_id, ple_id, currency, amount, fee))


def provider_fee_accrual(transaction_id: str, ple_id: str, currency: str, provider_fee: int) -> EntrySpec:
    """A transaction became final: provider_fee from platform provider_fees to PLE fees_payable."""
    check_id(ple_id, "ple_id")
    _money(currency, provider_fee)
    return EntrySpec(
        kind="provider_fee_accrued",
        key=f"provider_fee:{transaction_id}",
        transaction_id=transaction_id,
        postings=_transfer(PLATFORM_PROVIDER_FEES, fees_payable(ple_id), currency, provider_fee),
        metadata={"provider_fee": provider_fee, "ple_id": ple_id},
    )


async def accrue_provider_fee(
    db: Handle, transaction_id: str, ple_id: str, currency: str, provider_fee: int
) -> Entry | None:
    return await post(db, provider_fee_accrual(transaction_id, ple_id, currency, provider_fee))


async def settle_provider_fees(
    db: Handle, ple_id: str, settlement_date: date | str, currency: str, total: int, settlement_id: str
) -> Entry | None:
    """A PLE's fees of one day settled: total from PLE fees_payable to PLE clearing.

    Keyed by PLE, currency and day (not by settlement id): settling a day twice posts once."""
    check_id(ple_id, "ple_id")
    _money(currency, total)
    day = settlement_date.isoformat() if isinstance(settlement_date, date) else str(settlement_date)
    date.fromisoformat(day)  # ValueError for anything but YYYY-MM-DD
    return await post_entry(
        db,
        "provider_fees_settled",
        f"provider_fees:{ple_id}:{currency}:{day}",
        settlement_id,
        _transfer(fees_payable(ple_id), clearing(ple_id), currency, total),
        metadata={"ple_id": ple_id, "settlement_date": day, "total": total},
    )


class AdjustmentConflict(ValueError):
    """The reference was already used for an adjustment with another amount, currency or reason."""

    def __init__(self, existing: Entry) -> None:
        super().__init__(f"reference already used by entry {existing.id}")
        self.existing = existing


async def adjust_merchant_balance(
    db: Handle, merchant_id: str, currency: str, amount: int, reference: str, reason: str
) -> Entry | None:
    """Manual adjustment: amount > 0 credits merchant available from platform adjustments,
    amount < 0 debits it (InsufficientFunds when not covered). Idempotent per merchant and
    reference: the same request again returns the entry posted first; the same reference with
    another amount, currency or reason raises AdjustmentConflict (never answered with the first
    one as if it were this one). The caller writes the audit record."""
    check_id(merchant_id, "merchant_id")
    check_currency(currency)
    check_amount(amount, "amount", allow_negative=True)
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("an adjustment needs a reason")
    entry = await post_entry(
        db,
        "manual_adjustment",
        f"adjustment:{merchant_id}:{reference}",
        reference,
        _transfer(PLATFORM_ADJUSTMENTS, available(merchant_id), currency, amount),
        merchant_id=merchant_id,
        metadata={"reference": reference, "reason": reason},
    )
    if entry is not None and not entry.created:
        posted = sum(p.amount for p in entry.postings if p.account_code == available(merchant_id))
        if (posted, entry.currency, entry.metadata.get("reason")) != (amount, currency, reason):
            raise AdjustmentConflict(entry)
    return entry


class RefundExceedsPayin(Exception):
    """The payin's refunds that are not failed would add up to more than its amount."""

    def __init__(self, refundable: int) -> None:
        super().__init__(f"only {refundable} is still refundable")
        self.refundable = refundable


_RELEASE_GUARD = "UPDATE refund_guard SET committed = committed - {} WHERE payin_id = {}"


def refund_hold(refund_id: str, payin_id: str, merchant_id: str, currency: str, amount: int) -> EntrySpec:
    """Refund created: amount from merchant available to merchant reserved (post only through
    `hold_refund_funds`, which checks the payin's guard in the same transaction)."""
    check_id(merchant_id, "merchant_id")
    _money(currency, amount)
    return EntrySpec(
        kind="refund_hold",
        key=f"refund:{refund_id}:hold",
        transaction_id=refund_id,
        postings=_transfer(available(merchant_id), reserved(merchant_id), currency, amount),
        merchant_id=merchant_id,
        metadata={"amount": amount, "payin_id": payin_id},
    )


def refund_settlement(refund_id: str, merchant_id: str, ple_id: str, currency: str, amount: int) -> EntrySpec:
    """Refund succeeded: amount from merchant reserved to PLE clearing (the provider paid it out)."""
    check_id(merchant_id, "merchant_id")
    check_id(ple_id, "ple_id")
    _money(currency, amount)
    return EntrySpec(
        kind="refund_succeeded",
        key=f"refund:{refund_id}:succeeded",
        transaction_id=refund_id,
        postings=_transfer(reserved(merchant_id), clearing(ple_id), currency, amount),
        merchant_id=merchant_id,
        metadata={"amount": amount, "ple_id": ple_id},
    )


def refund_release(refund_id: str, payin_id: str, merchant_id: str, currency: str, amount: int) -> EntrySpec:
    """Refund failed: amount from merchant reserved back to available, and the payin's guard gives
    the amount back (refundable again), in the same transaction, once."""
    check_id(merchant_id, "merchant_id")
    _money(currency, amount)
    return EntrySpec(
        kind="refund_failed",
        key=f"refund:{refund_id}:failed",
        transaction_id=refund_id,
        postings=_transfer(reserved(merchant_id), available(merchant_id), currency, amount),
        merchant_id=merchant_id,
        metadata={"amount": amount, "payin_id": payin_id},
        also=(_RELEASE_GUARD, (amount, payin_id)),
    )


async def hold_refund_funds(
    db: Handle, refund_id: str, payin_id: str, merchant_id: str, currency: str, payin_amount: int, amount: int | None
) -> int:
    """Reserve a refund of a payin, in one PostgreSQL transaction: the payin's guard row locked,
    its refunds that are not failed kept at most the payin's amount (RefundExceedsPayin), and
    the amount held from available (InsufficientFunds: nothing held, the guard untouched).
    `amount` None takes what is still refundable. Returns the amount held."""
    async with db.transaction() as tx:
        await tx.sql(
            "INSERT INTO refund_guard (payin_id, merchant_id, currency, payin_amount) VALUES ({}, {}, {}, {})"
            " ON CONFLICT (payin_id) DO NOTHING",
            payin_id,
            merchant_id,
            currency,
            payin_amount,
        )
        row = (
            await tx.sql("SELECT payin_amount, committed FROM refund_guard WHERE payin_id = {} FOR UPDATE", payin_id)
        )[0]
        refundable = int(row["payin_amount"]) - int(row["committed"])
        wanted = refundable if amount is None else amount
        if wanted <= 0 or wanted > refundable:
            raise RefundExceedsPayin(refundable)
        await tx.sql("UPDATE refund_guard SET committed = committed + {} WHERE payin_id = {}", wanted, payin_id)
        await post(tx, refund_hold(refund_id, payin_id, merchant_id, currency, wanted))
    return wanted
