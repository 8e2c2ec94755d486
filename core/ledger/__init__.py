"""The double-entry ledger (ARCHITECTURE §6, docs/ledger.md): post, transfer, read, verify."""

from core.ledger.amounts import MAX_AMOUNT
from core.ledger.posting import Entry, EntrySpec, InsufficientFunds, Posting, missing_keys, post, post_entry
from core.ledger.queries import entries_for_transaction, merchant_balances, merchant_statement, verify_ledger
from core.ledger.transfers import (
    AdjustmentConflict,
    accrue_provider_fee,
    adjust_merchant_balance,
    credit_payin,
    hold_payout_funds,
    payin_credit,
    payout_hold,
    payout_release,
    payout_reversal,
    payout_settlement,
    provider_fee_accrual,
    release_payout_funds,
    reverse_payout,
    settle_payout,
    settle_provider_fees,
)

__all__ = [
    "MAX_AMOUNT",
    "AdjustmentConflict",
    "Entry",
    "EntrySpec",
    "InsufficientFunds",
    "Posting",
    "accrue_provider_fee",
    "adjust_merchant_balance",
    "credit_payin",
    "entries_for_transaction",
    "hold_payout_funds",
    "merchant_balances",
    "merchant_statement",
    "missing_keys",
    "payin_credit",
    "payout_hold",
    "payout_release",
    "payout_reversal",
    "payout_settlement",
    "post",
    "post_entry",
    "provider_fee_accrual",
    "release_payout_funds",
    "reverse_payout",
    "settle_payout",
    "settle_provider_fees",
    "verify_ledger",
]
