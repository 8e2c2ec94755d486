"""Payins and payouts: validation, their documents in MongoDB, state machines, ledger effects."""
