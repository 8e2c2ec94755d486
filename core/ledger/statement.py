"""A merchant's statement with a running balance per account (the dashboard's `/ledger`).

The balance after each entry is the account's balance now minus every posting of a newer entry,
read in one statement (one snapshot), then walked back entry by entry down the page. Entries
are ordered by id (creation time), as the statement pages them.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.ledger.amounts import available, check_id, reserved
from core.ledger.posting import Entry
from core.storage.postgres import Handle


@dataclass(frozen=True)
class StatementLine:
    entry: Entry
    account: str  # "available" or "reserved"
    currency: str
    amount: int
    balance_after: int


async def balances_after(db: Handle, merchant_id: str, entry_id: str) -> dict[tuple[str, str], int]:
    """{(account code, currency): balance just after `entry_id`} for the merchant's accounts."""
    check_id(merchant_id, "merchant_id")
    rows = await db.sql(
        "SELECT a.code, a.currency, a.balance - coalesce((SELECT sum(p.amount) FROM postings p"
        " WHERE p.account_code = a.code AND p.currency = a.currency AND p.entry_id > {}), 0) AS balance"
        " FROM accounts a WHERE a.code = ANY({}::text[])",
        entry_id,
        [available(merchant_id), reserved(merchant_id)],
    )
    return {(r["code"], r["currency"]): int(r["balance"]) for r in rows}


async def statement_lines(db: Handle, merchant_id: str, entries: list[Entry]) -> list[StatementLine]:
    """One line per posting of `entries` (newest first, the merchant's postings only), each with
    its account's balance after that entry."""
    if not entries:
        return []
    balance = await balances_after(db, merchant_id, entries[0].id)
    lines: list[StatementLine] = []
    for entry in entries:
        for posting in entry.postings:
            key = (posting.account_code, posting.currency)
            after = balance.get(key, 0)
            lines.append(
                StatementLine(entry, posting.account_code.rsplit(":", 1)[-1], posting.currency, posting.amount, after)
            )
            balance[key] = after - posting.amount  # the balance before this entry = after the older one
    return lines
