"""A standalone posting in one autocommitted statement (issue 19).

`post_entry` given the `Database` (no caller's transaction) used to spend four round trips:
BEGIN, lock the accounts, insert the entry with its postings and balances, COMMIT; every account
it touched stayed locked across all of them. Here one data-modifying statement does the same
steps in the same order, atomically:

1. `locked`: the entry's accounts, `SELECT ... ORDER BY code FOR UPDATE` (the same lock order as
   every other posting, so postings never deadlock; in READ COMMITTED a row locked after a wait is
   read in its newest version);
2. `chk`: every account exists and no merchant account goes below zero;
3. `e`, `p`, `u`: only then the entry (ON CONFLICT on its idempotency key: nothing at all is
   written for a key already posted), its postings, and the balances (`balance + delta` on the
   newest row version).

The statement answers what happened; the rare outcomes (a key posted before, insufficient funds,
an account missing) are resolved by the caller in `core/ledger/posting.py` exactly as before.
A posting inside a caller's transaction keeps the step-by-step path and its savepoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.storage.postgres import Database

_STATEMENT = (
    "WITH d AS (SELECT * FROM unnest({}::text[], {}::bigint[]) AS d(code, delta)),"
    " locked AS ("
    " SELECT code, balance, allow_negative FROM accounts"
    " WHERE currency = {} AND code = ANY({}::text[]) ORDER BY code FOR UPDATE),"
    " chk AS ("
    " SELECT count(*) AS n, coalesce(bool_and(l.allow_negative OR l.balance + d.delta >= 0), false) AS ok"
    " FROM locked l JOIN d ON d.code = l.code),"
    " e AS ("
    " INSERT INTO journal_entries (id, idempotency_key, kind, transaction_id, merchant_id, currency, metadata)"
    " SELECT {}, {}, {}, {}, {}, {}, {}::jsonb FROM chk WHERE chk.ok AND chk.n = {}"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at),"
    " p AS ("
    " INSERT INTO postings (entry_id, seq, account_code, currency, amount)"
    " SELECT e.id, x.seq, x.code, {}, x.amount FROM e,"
    " unnest({}::smallint[], {}::text[], {}::bigint[]) AS x(seq, code, amount)),"
    " u AS ("
    " UPDATE accounts a SET balance = a.balance + d.delta FROM e, d"
    " WHERE a.code = d.code AND a.currency = {})"
    " SELECT (SELECT id FROM e) AS id, (SELECT created_at FROM e) AS created_at,"
    " (SELECT n FROM chk) AS n, (SELECT ok FROM chk) AS ok,"
    " (SELECT array_agg(code ORDER BY code) FROM locked) AS codes,"
    " (SELECT array_agg(balance ORDER BY code) FROM locked) AS balances"
)


def net_changes(postings: list[tuple[str, str, int]]) -> dict[str, int]:
    """Each account's net change (an account may appear in several postings of one entry)."""
    deltas: dict[str, int] = {}
    for code, _, amount in postings:
        deltas[code] = deltas.get(code, 0) + amount
    return deltas


@dataclass(frozen=True)
class Outcome:
    """What the statement did: `entry_id` set when it wrote the entry."""

    entry_id: str | None
    created_at: datetime | None
    accounts_found: int
    funds_ok: bool
    balances: dict[str, int]


async def post_in_one_statement(
    db: Database,
    entry_id: str,
    kind: str,
    idempotency_key: str,
    transaction_id: str,
    merchant_id: str | None,
    currency: str,
    meta_json: str,
    postings: list[tuple[str, str, int]],
) -> Outcome:
    deltas = net_changes(postings)
    codes = sorted(deltas)
    rows: list[dict[str, Any]] = await db.sql(
        _STATEMENT,
        codes,
        [deltas[c] for c in codes],
        currency,
        codes,
        entry_id,
        idempotency_key,
        kind,
        transaction_id,
        merchant_id,
        currency,
        meta_json,
        len(codes),
        currency,
        list(range(len(postings))),
        [p[0] for p in postings],
        [p[2] for p in postings],
        currency,
    )
    row = rows[0]
    return Outcome(
        entry_id=row["id"],
        created_at=row["created_at"],
        accounts_found=int(row["n"] or 0),
        funds_ok=bool(row["ok"]),
        balances=dict(zip(row["codes"] or [], row["balances"] or [], strict=True)),
    )
