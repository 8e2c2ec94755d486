"""The ledger against real PostgreSQL: transfers, idempotency, concurrency, statement, verify."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter

import orjson
import pytest

from core.ids import new_id
from core.ledger import (
    MAX_AMOUNT,
    InsufficientFunds,
    accrue_provider_fee,
    adjust_merchant_balance,
    credit_payin,
    entries_for_transaction,
    hold_payout_funds,
    merchant_balances,
    merchant_statement,
    post_entry,
    release_payout_funds,
    reverse_payout,
    settle_payout,
    settle_provider_fees,
    verify_ledger,
)
from core.storage.postgres import Database, Handle

pytestmark = pytest.mark.usefixtures("resources")


async def balance(db: Handle, code: str, currency: str = "INR") -> int:
    rows = await db.sql("SELECT balance FROM accounts WHERE code = {} AND currency = {}", code, currency)
    return rows[0]["balance"] if rows else 0


def legs(entry) -> list[tuple[str, int]]:
    return [(p.account_code, p.amount) for p in entry.postings]


async def funded_merchant(db: Handle, amount: int, currency: str = "INR") -> str:
    merchant = new_id("mer")
    if amount:
        await adjust_merchant_balance(db, merchant, currency, amount, new_id("ref"), "test funding")
    return merchant


def run_verify_cli() -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-c", "from core.cli.ledger import ledger; ledger()", "verify", "--json"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, orjson.loads(proc.stdout)


async def test_each_transfer_posts_the_section_6_legs_and_moves_balances(db: Database) -> None:
    m, ple = new_id("mer"), new_id("ple")
    av, rs, cl, fp = (
        f"merchant:{m}:available",
        f"merchant:{m}:reserved",
        f"ple:{ple}:clearing",
        f"ple:{ple}:fees_payable",
    )
    revenue0 = await balance(db, "platform:revenue")
    provider0 = await balance(db, "platform:provider_fees")
    adjust0 = await balance(db, "platform:adjustments")

    payin = new_id("pi")
    e = await credit_payin(db, payin, m, ple, "INR", 10_000, 200)
    assert e is not None and e.kind == "payin_succeeded" and e.merchant_id == m and e.created
    assert legs(e) == [(cl, -9_800), (av, 9_800), (cl, -200), ("platform:revenue", 200)]
    assert await balance(db, av) == 9_800 and await balance(db, cl) == -10_000

    payout = new_id("po")
    e = await hold_payout_funds(db, payout, m, "INR", 3_000, 100)
    assert e is not None and legs(e) == [(av, -3_100), (rs, 3_100)]
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 6_700, "reserved": 3_100}]

    e = await settle_payout(db, payout, m, ple, "INR", 3_000, 100)
    assert e is not None and legs(e) == [(rs, -3_000), (cl, 3_000), (rs, -100), ("platform:revenue", 100)]
    assert await balance(db, rs) == 0 and await balance(db, cl) == -7_000

    e = await reverse_payout(db, payout, m, ple, "INR", 3_000, 100)
    assert e is not None and legs(e) == [(cl, -3_000), (av, 3_000), ("platform:revenue", -100), (av, 100)]
    assert await balance(db, av) == 9_800 and await balance(db, cl) == -10_000

    failed = new_id("po")
    await hold_payout_funds(db, failed, m, "INR", 500, 20)
    e = await release_payout_funds(db, failed, m, "INR", 500, 20)
    assert e is not None and legs(e) == [(rs, -520), (av, 520)]
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 9_800, "reserved": 0}]
    assert [x.kind for x in await entries_for_transaction(db, failed)] == ["payout_hold", "payout_failed"]

    e = await accrue_provider_fee(db, payin, ple, "INR", 30)
    assert e is not None and e.merchant_id is None
    assert legs(e) == [("platform:provider_fees", -30), (fp, 30)]
    e = await settle_provider_fees(db, ple, "2026-11-27", "INR", 30, "stl_1")
    assert e is not None and e.transaction_id == "stl_1" and legs(e) == [(fp, -30), (cl, 30)]
    again = await settle_provider_fees(db, ple, "2026-11-27", "INR", 30, "stl_2")
    assert again is not None and again.id == e.id and not again.created  # a day settles once
    assert await balance(db, fp) == 0 and await balance(db, cl) == -9_970

    e = await adjust_merchant_balance(db, m, "INR", -800, "ref-1", "chargeback fee")
    assert e is not None and legs(e) == [("platform:adjustments", 800), (av, -800)]
    assert e.metadata == {"reference": "ref-1", "reason": "chargeback fee"}
    assert await balance(db, av) == 9_000

    assert await balance(db, "platform:revenue") - revenue0 == 200 + 100 - 100
    assert await balance(db, "platform:provider_fees") - provider0 == -30
    assert await balance(db, "platform:adjustments") - adjust0 == 800
    assert await verify_ledger(db) == []


async def test_zero_legs_are_omitted_and_an_empty_entry_is_a_no_op(db: Database) -> None:
    m, ple = new_id("mer"), new_id("ple")
    e = await credit_payin(db, new_id("pi"), m, ple, "INR", 500, 0)
    assert e is not None and len(e.postings) == 2
    assert await accrue_provider_fee(db, new_id("pi"), ple, "INR", 0) is None
    e = await credit_payin(db, new_id("pi"), m, ple, "INR", 500, 500)  # all of it is fee
    assert e is not None and [p.account_code for p in e.postings] == [f"ple:{ple}:clearing", "platform:revenue"]
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 500, "reserved": 0}]


async def test_invalid_entries_are_rejected_before_any_write(db: Database) -> None:
    m = new_id("mer")
    av = f"merchant:{m}:available"
    bad = [
        [("platform:adjustments", "INR", -10), (av, "INR", 9)],  # unbalanced
        [("platform:adjustments", "INR", -1.0), (av, "INR", 1.0)],  # floats
        [("platform:adjustments", "INR", -True), (av, "INR", True)],  # bools
        [("platform:adjustments", "INR", -(MAX_AMOUNT + 1)), (av, "INR", MAX_AMOUNT + 1)],
        [("platform:adjustments", "USD", -10), (av, "INR", 10)],  # two currencies
        [("platform:nowhere", "INR", -10), (av, "INR", 10)],  # unknown account
        [("platform:adjustments", "inr", -10), (av, "inr", 10)],
    ]
    for postings in bad:
        with pytest.raises(ValueError):
            await post_entry(db, "test", new_id("key"), "tx", postings)
    with pytest.raises(ValueError):
        await hold_payout_funds(db, new_id("po"), m, "INR", MAX_AMOUNT, 1)  # amount + fee over the limit
    with pytest.raises(ValueError):
        await credit_payin(db, new_id("pi"), m, new_id("ple"), "INR", 100, 101)  # fee above amount
    assert await merchant_balances(db, m) == []


async def test_insufficient_funds_writes_nothing(db: Database) -> None:
    m = await funded_merchant(db, 100)
    payout = new_id("po")
    with pytest.raises(InsufficientFunds) as raised:
        await hold_payout_funds(db, payout, m, "INR", 95, 10)
    assert (raised.value.account_code, raised.value.available, raised.value.requested) == (
        f"merchant:{m}:available",
        100,
        105,
    )
    assert await entries_for_transaction(db, payout) == []
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 100, "reserved": 0}]
    with pytest.raises(InsufficientFunds):
        await adjust_merchant_balance(db, m, "INR", -101, new_id("ref"), "too much")
    fresh = new_id("mer")
    with pytest.raises(InsufficientFunds):
        await hold_payout_funds(db, new_id("po"), fresh, "INR", 1, 0)
    assert await merchant_balances(db, fresh) == []  # not even its accounts were created


async def test_posting_twice_returns_the_first_entry_and_changes_nothing(db: Database) -> None:
    m, ple, payin = new_id("mer"), new_id("ple"), new_id("pi")
    first = await credit_payin(db, payin, m, ple, "INR", 1_000, 10)
    second = await credit_payin(db, payin, m, ple, "INR", 1_000, 10)
    assert first is not None and second is not None
    assert first.created and not second.created
    assert second == first
    assert await balance(db, f"merchant:{m}:available") == 990
    # a retried hold is answered from the ledger even when the funds are gone by now
    payout = new_id("po")
    await hold_payout_funds(db, payout, m, "INR", 990, 0)
    replay = await hold_payout_funds(db, payout, m, "INR", 990, 0)
    assert replay is not None and not replay.created
    assert len(await entries_for_transaction(db, payout)) == 1


async def test_fifty_concurrent_postings_of_one_key_make_one_entry(db: Database) -> None:
    m, ple, payin = new_id("mer"), new_id("ple"), new_id("pi")
    results = await asyncio.wait_for(
        asyncio.gather(*(credit_payin(db, payin, m, ple, "INR", 700, 7) for _ in range(50))), timeout=60
    )
    assert len({e.id for e in results}) == 1
    assert sum(e.created for e in results) == 1
    rows = await db.sql("SELECT count(*) AS n FROM journal_entries WHERE transaction_id = {}", payin)
    assert rows[0]["n"] == 1
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 693, "reserved": 0}]


@pytest.mark.parametrize("accounts_known", [False, True])
async def test_two_hundred_concurrent_holds_against_five_hundred_exactly_fifty_succeed(
    db: Database, accounts_known: bool
) -> None:
    """Known accounts: every hold is the one-statement posting (core/ledger/one_statement.py);
    otherwise the first ones create the reserved account step by step."""
    from core.ledger import posting

    m = await funded_merchant(db, 500)
    av = f"merchant:{m}:available"
    if accounts_known:
        warm = new_id("po")
        await hold_payout_funds(db, warm, m, "INR", 1, 0)
        await release_payout_funds(db, warm, m, "INR", 1, 0)
        assert {("INR", av), ("INR", f"merchant:{m}:reserved")} <= posting._known_accounts
    seen: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            seen.append(await balance(db, av))
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    results = await asyncio.wait_for(
        asyncio.gather(
            *(hold_payout_funds(db, new_id("po"), m, "INR", 10, 0) for _ in range(200)), return_exceptions=True
        ),
        timeout=120,
    )
    done.set()
    await watcher
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Entry": 50, "InsufficientFunds": 150}
    assert all(r.available < 10 for r in results if isinstance(r, InsufficientFunds))
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 0, "reserved": 500}]
    assert len(seen) > 1 and min(seen) >= 0


async def test_crossing_transfers_between_two_merchants_do_not_deadlock(db: Database) -> None:
    a, b = await funded_merchant(db, 1_000), await funded_merchant(db, 1_000)
    av_a, av_b = f"merchant:{a}:available", f"merchant:{b}:available"

    async def move(src: str, dst: str, i: int) -> None:
        await post_entry(db, "test_transfer", new_id("x"), f"tx{i}", [(src, "INR", -3), (dst, "INR", 3)])

    tasks = [move(av_a, av_b, i) if i % 2 else move(av_b, av_a, i) for i in range(200)]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)  # a deadlock raises or hangs
    assert await balance(db, av_a) == 1_000 and await balance(db, av_b) == 1_000


async def test_fifty_concurrent_one_statement_postings_of_one_key_make_one_entry(db: Database) -> None:
    m = await funded_merchant(db, 1_000)  # its accounts are known: the one-statement path
    key = new_id("ref")
    results = await asyncio.wait_for(
        asyncio.gather(*(adjust_merchant_balance(db, m, "INR", -300, key, "once") for _ in range(50))), timeout=60
    )
    assert len({e.id for e in results}) == 1 and sum(e.created for e in results) == 1
    assert await balance(db, f"merchant:{m}:available") == 700
    await adjust_merchant_balance(db, m, "INR", -700, new_id("ref"), "the rest")
    again = await adjust_merchant_balance(db, m, "INR", -300, key, "once")  # a retry, now uncovered
    assert again.id == results[0].id and not again.created  # answered with the entry, not refused


async def test_post_entry_joins_a_callers_transaction_and_a_failure_keeps_it_usable(db: Database) -> None:
    m, ple = new_id("mer"), new_id("ple")
    payin = new_id("pi")
    async with db.transaction() as tx:
        await credit_payin(tx, payin, m, ple, "INR", 300, 0)
        with pytest.raises(InsufficientFunds):
            await hold_payout_funds(tx, new_id("po"), m, "INR", 301, 0)
        await hold_payout_funds(tx, new_id("po"), m, "INR", 100, 0)  # still usable after the failure
    assert await merchant_balances(db, m) == [{"currency": "INR", "available": 200, "reserved": 100}]

    rolled_back = new_id("pi")

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with db.transaction() as tx:
            await credit_payin(tx, rolled_back, m, ple, "INR", 50, 0)
            raise Abort
    assert await entries_for_transaction(db, rolled_back) == []
    assert await balance(db, f"merchant:{m}:available") == 200


async def test_balances_are_per_currency(db: Database) -> None:
    m, ple = new_id("mer"), new_id("ple")
    await credit_payin(db, new_id("pi"), m, ple, "INR", 1_000, 0)
    await credit_payin(db, new_id("pi"), m, ple, "USD", 20, 0)
    await hold_payout_funds(db, new_id("po"), m, "USD", 5, 1)
    assert await merchant_balances(db, m) == [
        {"currency": "INR", "available": 1_000, "reserved": 0},
        {"currency": "USD", "available": 14, "reserved": 6},
    ]
    with pytest.raises(InsufficientFunds):
        await hold_payout_funds(db, new_id("po"), m, "USD", 15, 0)


async def test_statement_pages_return_every_entry_once_newest_first(db: Database) -> None:
    m, other, ple = new_id("mer"), new_id("mer"), new_id("ple")
    posted = []
    for i in range(23):
        posted.append((await credit_payin(db, new_id("pi"), m, ple, "INR", 100 + i, 1)).id)
        await credit_payin(db, new_id("pi"), other, ple, "INR", 100, 0)  # another merchant: never shown
    payout = new_id("po")
    posted.append((await hold_payout_funds(db, payout, m, "INR", 50, 0)).id)
    posted.append((await release_payout_funds(db, payout, m, "INR", 50, 0)).id)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, has_more = await merchant_statement(db, m, 7, starting_after=cursor)
        pages += 1
        seen += [e.id for e in page]
        for entry in page:
            assert all(p.account_code.startswith(f"merchant:{m}:") for p in entry.postings)
        if not has_more:
            break
        cursor = page[-1].id
    assert pages == 4
    assert seen == sorted(posted, reverse=True)
    first, _ = await merchant_statement(db, m, 1)
    assert first[0].kind == "payout_failed" and [p.amount for p in first[0].postings] == [-50, 50]

    holds, more = await merchant_statement(db, m, 100, kind="payout_hold")
    assert [e.id for e in holds] == [posted[-2]] and not more
    latest = first[0].created_at
    after, _ = await merchant_statement(db, m, 100, created_gte=latest)
    before, _ = await merchant_statement(db, m, 100, created_lt=latest)
    assert {e.id for e in after} | {e.id for e in before} == set(posted)
    assert not {e.id for e in after} & {e.id for e in before}
    with pytest.raises(ValueError):
        await merchant_statement(db, m, 0)


async def test_entries_and_postings_cannot_be_changed(db: Database) -> None:
    e = await credit_payin(db, new_id("pi"), new_id("mer"), new_id("ple"), "INR", 100, 0)
    assert e is not None
    for statement in (
        "UPDATE postings SET amount = amount * 2 WHERE entry_id = {}",
        "DELETE FROM postings WHERE entry_id = {}",
        "UPDATE journal_entries SET kind = 'x' WHERE id = {}",
        "DELETE FROM journal_entries WHERE id = {}",
    ):
        with pytest.raises(Exception, match="append-only"):
            await db.sql(statement, e.id)


async def test_verify_passes_on_a_healthy_ledger_and_names_a_corrupted_account(db: Database) -> None:
    m = await funded_merchant(db, 1_000)
    av = f"merchant:{m}:available"
    code, body = await asyncio.to_thread(run_verify_cli)
    assert (code, body) == (0, {"ok": True, "problems": []})

    await db.sql("UPDATE accounts SET balance = balance + 7 WHERE code = {} AND currency = 'INR'", av)
    try:
        code, body = await asyncio.to_thread(run_verify_cli)
        assert code == 1 and body["ok"] is False
        assert body["problems"] == [
            {"problem": "balance_mismatch", "account": av, "currency": "INR", "cached": 1_007, "postings_sum": 1_000}
        ]
        assert await verify_ledger(db) == body["problems"]
    finally:
        await db.sql("UPDATE accounts SET balance = balance - 7 WHERE code = {} AND currency = 'INR'", av)
    assert await verify_ledger(db) == []


async def test_accounts_known_to_the_process_are_not_created_again_and_a_stale_memory_heals(db: Database) -> None:
    """Posting skips creating accounts this process saw (core/ledger/posting.py `_known_accounts`);
    if one is missing all the same (a database reset under a running process), it is created."""
    from core.ledger import posting

    merchant = await funded_merchant(db, 1_000)
    assert ("INR", f"merchant:{merchant}:available") in posting._known_accounts
    ghost = new_id("mer")
    posting._known_accounts.add(("INR", f"merchant:{ghost}:available"))  # believed to exist, is not there
    await adjust_merchant_balance(db, ghost, "INR", 500, new_id("ref"), "test funding")
    assert await balance(db, f"merchant:{ghost}:available") == 500
    assert await balance(db, f"merchant:{merchant}:available") == 1_000
