"""Reading the ledger: balances, a merchant's statement, a transaction's entries, verification."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from core.ledger.amounts import available, check_id, reserved
from core.ledger.posting import Entry, load_entries
from core.storage.postgres import Handle

MAX_STATEMENT_LIMIT = 1000


async def merchant_balances(db: Handle, merchant_id: str) -> list[dict[str, Any]]:
    """[{currency, available, reserved}] for each currency the merchant has an account in."""
    check_id(merchant_id, "merchant_id")
    rows = await db.sql(
        "SELECT code, currency, balance FROM accounts WHERE code = ANY({}::text[]) ORDER BY currency",
        [available(merchant_id), reserved(merchant_id)],
    )
    by_currency: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = by_currency.setdefault(row["currency"], {"currency": row["currency"], "available": 0, "reserved": 0})
        item["available" if row["code"].endswith(":available") else "reserved"] = row["balance"]
    return list(by_currency.values())


async def merchant_statement(
    db: Handle,
    merchant_id: str,
    limit: int,
    starting_after: str | None = None,
    kind: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
) -> tuple[list[Entry], bool]:
    """Entries touching the merchant's accounts, newest first, and whether more follow.

    Each entry carries only its postings on the merchant's accounts. `starting_after` is the id of
    the last entry of the previous page (ids sort by creation time): the page holds older entries.
    """
    check_id(merchant_id, "merchant_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_STATEMENT_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_STATEMENT_LIMIT}")
    codes = [available(merchant_id), reserved(merchant_id)]
    # Conditions are added only when given, so the cursor becomes an index range on
    # postings (account_code, entry_id) instead of a filter over every posting of the merchant.
    inner, outer = ["account_code = ANY({}::text[])"], []
    inner_args: list[Any] = [codes]
    outer_args: list[Any] = []
    if starting_after is not None:
        inner.append("entry_id < {}")
        inner_args.append(starting_after)
    for condition, value in (
        ("e.kind = {}", kind),
        ("e.created_at >= {}", created_gte),
        ("e.created_at < {}", created_lt),
    ):
        if value is not None:
            outer.append(condition)
            outer_args.append(value)
    rows = await db.sql(
        f"WITH ids AS (SELECT DISTINCT entry_id FROM postings WHERE {' AND '.join(inner)})"
        " SELECT e.id FROM journal_entries e JOIN ids ON ids.entry_id = e.id"
        f" WHERE {' AND '.join(outer) or 'true'} ORDER BY e.id DESC LIMIT {{}}",
        *inner_args,
        *outer_args,
        limit + 1,
    )
    ids = [r["id"] for r in rows[:limit]]
    if not ids:
        return [], False
    entries = await load_entries(db, "id = ANY({}::text[])", ids)
    page = []
    for entry in sorted(entries, key=lambda e: e.id, reverse=True):
        mine = [p for p in entry.postings if p.account_code in codes]
        page.append(_with_postings(entry, mine))
    return page, len(rows) > limit


def _with_postings(entry: Entry, postings: list[Any]) -> Entry:
    return replace(entry, postings=postings)


async def entries_for_transaction(db: Handle, transaction_id: str) -> list[Entry]:
    """Every entry of one payin, payout, settlement or adjustment, oldest first, all postings."""
    return await load_entries(db, "transaction_id = {}", transaction_id)


async def verify_ledger(
    db: Handle,
) -> list[dict[str, Any]]:
    """Every problem found; an empty list proves the three invariants of ARCHITECTURE §6, and that
    each payin's refund guard equals its refunds in the ledger (§4.9).

    Each check is one statement, so it reads one consistent snapshot while postings continue.
    """
    problems: list[dict[str, Any]] = []
    for row in await db.sql(
        "SELECT e.id, e.currency AS entry_currency, p.currency, coalesce(sum(p.amount), 0) AS total,"
        " count(p.seq) AS n FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id"
        " GROUP BY e.id, e.currency, p.currency"
        " HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.seq) = 0 OR p.currency <> e.currency"
        " ORDER BY e.id"
    ):
        if row["n"] == 0:
            problems.append({"problem": "entry_without_postings", "entry": row["id"]})
        elif row["currency"] != row["entry_currency"]:
            problems.append({"problem": "posting_currency_mismatch", "entry": row["id"], "currency": row["currency"]})
        if row["n"] and row["total"] != 0:
            problems.append(
                {
                    "problem": "entry_unbalanced",
                    "entry": row["id"],
                    "currency": row["currency"],
                    "sum": int(row["total"]),
                }
            )
    for row in await db.sql(
        "SELECT a.code, a.currency, a.balance, coalesce(s.total, 0) AS total FROM accounts a"
        " LEFT JOIN (SELECT account_code, currency, sum(amount) AS total FROM postings"
        " GROUP BY account_code, currency) s ON s.account_code = a.code AND s.currency = a.currency"
        " WHERE a.balance <> coalesce(s.total, 0) ORDER BY a.code, a.currency"
    ):
        problems.append(
            {
                "problem": "balance_mismatch",
                "account": row["code"],
                "currency": row["currency"],
                "cached": row["balance"],
                "postings_sum": int(row["total"]),
            }
        )
    for row in await db.sql(
        "SELECT code, currency, balance FROM accounts WHERE code LIKE 'merchant:%'"
        " AND (balance < 0 OR allow_negative) ORDER BY code, currency"
    ):
        problems.append(
            {
                "problem": "merchant_balance_negative" if row["balance"] < 0 else "merchant_allows_negative",
                "account": row["code"],
                "currency": row["currency"],
                "balance": row["balance"],
            }
        )
    # The refund guard agrees with the ledger: per payin, its refund holds less its failed refunds.
    for row in await db.sql(
        "SELECT g.payin_id, g.committed, coalesce(h.total, 0) AS held FROM refund_guard g LEFT JOIN"
        " (SELECT metadata->>'payin_id' AS payin_id,"
        "  sum(CASE WHEN kind = 'refund_hold' THEN (metadata->>'amount')::bigint"
        "      ELSE -(metadata->>'amount')::bigint END) AS total"
        "  FROM journal_entries WHERE kind IN ('refund_hold', 'refund_failed') GROUP BY 1) h"
        " ON h.payin_id = g.payin_id WHERE g.committed <> coalesce(h.total, 0) ORDER BY g.payin_id"
    ):
        problems.append(
            {
                "problem": "refund_guard_mismatch",
                "payin_id": row["payin_id"],
                "guard": int(row["committed"]),
                "ledger": int(row["held"]),
            }
        )
    return problems
