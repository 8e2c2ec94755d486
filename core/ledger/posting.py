"""`post_entry`: one balanced journal entry, atomically, exactly once per idempotency key.

The steps, in one PostgreSQL transaction (or a savepoint of the caller's transaction):

1. create the entry's accounts that do not exist yet (INSERT ... ON CONFLICT DO NOTHING, in code
   order), skipped for accounts this process already saw; merchant accounts may never go
   negative, PLE and platform accounts may;
2. lock every account of the entry with SELECT ... ORDER BY code FOR UPDATE: all writers lock in
   the same order, so two entries touching the same accounts never deadlock;
3. compute the new balances; if a merchant account would go below zero, return the entry already
   posted under this key if there is one, else raise InsufficientFunds having written nothing;
4. insert the entry with ON CONFLICT (idempotency_key) DO NOTHING, its postings and the new cached
   balances in one statement; when the key already exists (a retry, or a racing call that committed
   first), nothing is written and the existing entry is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from core.ids import new_id
from core.ledger.amounts import check_account, check_amount, check_currency, check_id
from core.ledger.one_statement import net_changes, post_in_one_statement
from core.observability.metrics import LEDGER_POSTINGS
from core.storage.postgres import Database, Handle, Transaction

PostingSpec = tuple[str, str, int]  # (account_code, currency, signed amount: credit > 0)


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """A journal entry still to post: what `post_entry` takes, as one value. The transfers of
    core/ledger/transfers.py build these, so a caller can post them now or check later which of
    them exist (`missing_keys`) without composing postings by hand."""

    kind: str
    key: str  # the idempotency key: posting the same spec twice posts once
    transaction_id: str
    postings: tuple[PostingSpec, ...]
    merchant_id: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    # A statement run in the same transaction only when this call writes the entry: keeps a side
    # table in step with the ledger exactly once (e.g. the refund guard when a refund fails).
    also: tuple[str, tuple[object, ...]] | None = None


class InsufficientFunds(Exception):
    """A posting would take a merchant account below zero; nothing was written."""

    def __init__(self, account_code: str, available: int, requested: int) -> None:
        super().__init__(f"{account_code}: available {available}, requested {requested}")
        self.account_code = account_code
        self.available = available
        self.requested = requested


@dataclass(frozen=True)
class Posting:
    account_code: str
    currency: str
    amount: int

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account_code, "currency": self.currency, "amount": self.amount}


@dataclass(frozen=True)
class Entry:
    id: str
    idempotency_key: str
    kind: str
    transaction_id: str
    merchant_id: str | None
    currency: str
    created_at: datetime
    metadata: dict[str, Any]
    postings: list[Posting]
    # True when this call wrote the entry, False when it returned one posted before.
    created: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "transaction_id": self.transaction_id,
            "merchant_id": self.merchant_id,
            "currency": self.currency,
            "created_at": self.created_at.isoformat(),
            "metadata": self.metadata,
            "postings": [p.to_dict() for p in self.postings],
        }


def _text(value: object, name: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(f"{name} must be a non-empty string of at most {max_len} characters")
    return value


def _validate(postings: Sequence[PostingSpec]) -> tuple[str, list[PostingSpec]]:
    """The entry's one currency and its non-zero postings; ValueError when unbalanced or invalid."""
    kept: list[PostingSpec] = []
    currencies: set[str] = set()
    for spec in postings:
        if not isinstance(spec, tuple | list) or len(spec) != 3:
            raise ValueError(f"a posting is (account_code, currency, amount), got {spec!r}")
        code, currency, amount = spec
        check_account(code)
        currencies.add(check_currency(currency))
        check_amount(amount, f"amount of {code}", allow_negative=True)
        if amount != 0:
            kept.append((code, currency, amount))
    if len(currencies) > 1:
        raise ValueError(f"an entry is in one currency, got {sorted(currencies)}")
    if sum(p[2] for p in kept) != 0:
        raise ValueError("postings must sum to zero: credits minus debits")
    return (currencies.pop() if currencies else ""), kept


def _row_to_entry(row: dict[str, Any], postings: list[dict[str, Any]], created: bool) -> Entry:
    meta = row["metadata"]
    return Entry(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        kind=row["kind"],
        transaction_id=row["transaction_id"],
        merchant_id=row["merchant_id"],
        currency=row["currency"],
        created_at=row["created_at"],
        metadata=orjson.loads(meta) if isinstance(meta, str | bytes) else (meta or {}),
        postings=[Posting(p["account_code"], p["currency"], p["amount"]) for p in postings],
        created=created,
    )


ENTRY_COLUMNS = "id, idempotency_key, kind, transaction_id, merchant_id, currency, created_at, metadata"


async def load_entries(db: Handle, where: str, *args: Any) -> list[Entry]:
    """Entries matching `where` (a SQL condition with `{}` placeholders), oldest first."""
    rows = await db.sql(f"SELECT {ENTRY_COLUMNS} FROM journal_entries WHERE {where} ORDER BY id", *args)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    postings = await db.sql(
        "SELECT entry_id, account_code, currency, amount FROM postings"
        " WHERE entry_id = ANY({}::text[]) ORDER BY entry_id, seq",
        ids,
    )
    by_entry: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for p in postings:
        by_entry[p["entry_id"]].append(p)
    return [_row_to_entry(r, by_entry[r["id"]], False) for r in rows]


async def entry_by_key(db: Handle, idempotency_key: str) -> Entry | None:
    found = await load_entries(db, "idempotency_key = {}", idempotency_key)
    return found[0] if found else None


async def post(db: Handle, spec: EntrySpec) -> Entry | None:
    args = (spec.kind, spec.key, spec.transaction_id, spec.postings, spec.merchant_id, dict(spec.metadata))
    if spec.also is None:
        return await post_entry(db, *args)
    async with db.transaction() as tx:  # a savepoint when `db` is the caller's transaction
        entry = await post_entry(tx, *args)
        if entry is not None and entry.created:
            await tx.sql(spec.also[0], *spec.also[1])
    return entry


async def missing_keys(db: Handle, keys: Sequence[str]) -> set[str]:
    """The idempotency keys among `keys` that no entry has yet: one indexed query, no locks."""
    if not keys:
        return set()
    rows = await db.sql(
        "SELECT idempotency_key FROM journal_entries WHERE idempotency_key = ANY({}::text[])", list(keys)
    )
    return set(keys) - {r["idempotency_key"] for r in rows}


async def post_entry(
    db: Handle,
    kind: str,
    idempotency_key: str,
    transaction_id: str,
    postings: Sequence[PostingSpec],
    merchant_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Entry | None:
    """Post one balanced entry; None when every amount is zero (nothing to post).

    Raises ValueError for an invalid or unbalanced entry and InsufficientFunds when a merchant
    account would go below zero. Given the caller's `Transaction` it runs in a savepoint of it,
    so a failure leaves the caller's transaction usable and nothing of this entry written.
    """
    _text(kind, "kind", 64)
    _text(idempotency_key, "idempotency_key")
    _text(transaction_id, "transaction_id")
    if merchant_id is not None:
        check_id(merchant_id, "merchant_id")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError("metadata must be a dict")
    currency, kept = _validate(postings)
    if not kept:
        return None
    meta_json = orjson.dumps(metadata or {}).decode()
    draft = _Draft(kind, idempotency_key, transaction_id, merchant_id, currency, meta_json, kept)

    if isinstance(db, Database):  # standalone: one autocommitted statement (core/ledger/one_statement.py)
        entry = await _post_alone(db, draft)
    else:
        async with db.transaction() as tx:  # a savepoint of the caller's transaction
            entry = await _post(tx, draft)
    if entry.created:
        LEDGER_POSTINGS.add(1, {"kind": kind})
    return entry


@dataclass(frozen=True)
class _Draft:
    """A validated entry still to write, as both writing paths take it."""

    kind: str
    idempotency_key: str
    transaction_id: str
    merchant_id: str | None
    currency: str
    meta_json: str
    kept: list[PostingSpec]

    @property
    def deltas(self) -> dict[str, int]:
        return net_changes(self.kept)

    def written(self, entry_id: str, created_at: datetime) -> Entry:
        return Entry(
            id=entry_id,
            idempotency_key=self.idempotency_key,
            kind=self.kind,
            transaction_id=self.transaction_id,
            merchant_id=self.merchant_id,
            currency=self.currency,
            created_at=created_at,
            metadata=orjson.loads(self.meta_json),
            postings=[Posting(code, cur, amount) for code, cur, amount in self.kept],
            created=True,
        )


# Accounts this process has seen committed: their creation (step 1) is skipped, one round trip
# of every posting (issue 19). Remembered only once the creating transaction committed: a
# posting that skipped creating a row still being inserted would lock the others out of order
# and deadlock (found by test_fifty_concurrent_postings_of_one_key_make_one_entry). Accounts are
# never deleted; if one is missing all the same, the lock finds fewer rows and they are created.
_known_accounts: set[tuple[str, str]] = set()
_KNOWN_ACCOUNTS_LIMIT = 200_000


async def _create_accounts(tx: Handle, currency: str, codes: list[str]) -> None:
    await tx.sql(
        "INSERT INTO accounts (code, currency, allow_negative)"
        " SELECT c, {}, c NOT LIKE 'merchant:%' FROM unnest({}::text[]) AS c ORDER BY c"
        " ON CONFLICT DO NOTHING",
        currency,
        codes,
    )


async def _lock_accounts(tx: Transaction, currency: str, codes: list[str]) -> list[dict[str, Any]]:
    return await tx.sql(
        "SELECT code, balance, allow_negative FROM accounts"
        " WHERE currency = {} AND code = ANY({}::text[]) ORDER BY code FOR UPDATE",
        currency,
        codes,
    )


def _remember_accounts(currency: str, codes: list[str]) -> None:
    if len(_known_accounts) > _KNOWN_ACCOUNTS_LIMIT:
        _known_accounts.clear()
    _known_accounts.update((currency, code) for code in codes)


async def _post_alone(db: Database, d: _Draft) -> Entry:
    deltas = d.deltas
    codes = sorted(deltas)
    if not all((d.currency, code) in _known_accounts for code in codes):
        # Accounts to create: step by step, so a refused posting leaves no empty account behind.
        async with db.transaction() as tx:
            entry = await _post(tx, d)
        _remember_accounts(d.currency, codes)  # committed now: visible to every later statement
        return entry
    entry_id = new_id("je")
    done = await post_in_one_statement(
        db, entry_id, d.kind, d.idempotency_key, d.transaction_id, d.merchant_id, d.currency, d.meta_json, d.kept
    )
    if done.entry_id is None and done.accounts_found != len(codes):  # gone all the same: a reset database
        _known_accounts.clear()
        async with db.transaction() as tx:
            entry = await _post(tx, d)
        _remember_accounts(d.currency, codes)
        return entry
    if done.entry_id is not None and done.created_at is not None:
        return d.written(entry_id, done.created_at)
    existing = await entry_by_key(db, d.idempotency_key)  # posted before: a retry, or a racing call
    if existing is not None:
        return existing
    if not done.funds_ok:
        for code in codes:
            balance, delta = done.balances[code], deltas[code]
            if code.startswith("merchant:") and delta < 0 and balance + delta < 0:
                raise InsufficientFunds(code, balance, -delta)
    raise RuntimeError(f"idempotency key {d.idempotency_key!r} conflicted but no entry is visible")


async def _post(tx: Transaction, d: _Draft) -> Entry:
    deltas = d.deltas
    codes = sorted(deltas)
    known = all((d.currency, code) in _known_accounts for code in codes)
    if not known:
        await _create_accounts(tx, d.currency, codes)
    locked = await _lock_accounts(tx, d.currency, codes)
    if len(locked) != len(codes) and known:  # an account this process saw is gone (a reset database)
        _known_accounts.clear()
        await _create_accounts(tx, d.currency, codes)
        locked = await _lock_accounts(tx, d.currency, codes)
    if len(locked) != len(codes):  # cannot happen: the INSERT above waited for or made each row
        raise RuntimeError(f"accounts {codes} in {d.currency}: only {len(locked)} could be locked")
    for row in locked:
        delta = deltas[row["code"]]
        if delta < 0 and not row["allow_negative"] and row["balance"] + delta < 0:
            existing = await entry_by_key(tx, d.idempotency_key)
            if existing is not None:
                return existing
            raise InsufficientFunds(row["code"], row["balance"], -delta)

    entry_id = new_id("je")
    inserted = await tx.sql(
        "WITH e AS ("
        " INSERT INTO journal_entries"
        " (id, idempotency_key, kind, transaction_id, merchant_id, currency, metadata)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}::jsonb)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at"
        "), p AS ("
        " INSERT INTO postings (entry_id, seq, account_code, currency, amount)"
        " SELECT e.id, x.seq, x.code, {}, x.amount FROM e,"
        " unnest({}::smallint[], {}::text[], {}::bigint[]) AS x(seq, code, amount)"
        "), u AS ("
        " UPDATE accounts a SET balance = a.balance + d.delta"
        " FROM e, unnest({}::text[], {}::bigint[]) AS d(code, delta)"
        " WHERE a.code = d.code AND a.currency = {}"
        ")"
        " SELECT id, created_at FROM e",
        entry_id,
        d.idempotency_key,
        d.kind,
        d.transaction_id,
        d.merchant_id,
        d.currency,
        d.meta_json,
        d.currency,
        list(range(len(d.kept))),
        [p[0] for p in d.kept],
        [p[2] for p in d.kept],
        codes,
        [deltas[c] for c in codes],
        d.currency,
    )
    if not inserted:
        existing = await entry_by_key(tx, d.idempotency_key)
        if existing is None:  # cannot happen: the conflicting row is committed and visible now
            raise RuntimeError(f"idempotency key {d.idempotency_key!r} conflicted but no entry is visible")
        return existing
    return d.written(entry_id, inserted[0]["created_at"])
