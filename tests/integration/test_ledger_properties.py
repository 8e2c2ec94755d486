"""Property: any sequence of §6 transfers keeps the ledger's invariants and matches a simple model.

Random sequences over several merchants, PLEs and currencies, with replays of earlier transfers
mixed in. After each sequence: every entry balances, every cached balance equals its postings'
sum, no merchant balance is negative (verify_ledger), and each merchant's balances equal those of
an in-memory model that also predicts exactly which transfers are refused for lack of funds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from core.ids import new_id
from core.ledger import (
    InsufficientFunds,
    accrue_provider_fee,
    adjust_merchant_balance,
    credit_payin,
    hold_payout_funds,
    merchant_balances,
    release_payout_funds,
    reverse_payout,
    settle_payout,
    settle_provider_fees,
    verify_ledger,
)
from core.storage.postgres import Database

pytestmark = pytest.mark.usefixtures("resources")

MERCHANTS, PLES, CURRENCIES = 2, 2, ("INR", "USD")
amounts = st.integers(min_value=0, max_value=5_000)
share = st.integers(min_value=0, max_value=110)  # % of available a payout takes: > 100 is refused
merchant = st.integers(0, MERCHANTS - 1)
ple = st.integers(0, PLES - 1)
currency = st.sampled_from(CURRENCIES)
pick = st.integers(0, 50)  # which earlier payout / operation, modulo how many there are

payin = st.tuples(st.just("payin"), merchant, ple, currency, amounts, amounts)
operations = st.one_of(
    payin,
    payin,
    st.tuples(st.just("hold"), pick, share, st.integers(0, 50)),
    st.tuples(st.just("settle"), pick, ple),
    st.tuples(st.just("release"), pick),
    st.tuples(st.just("reverse"), pick),
    st.tuples(st.just("accrue"), ple, currency, amounts),
    st.tuples(st.just("settle_fees"), ple, currency),
    st.tuples(st.just("adjust"), merchant, currency, st.integers(-5_000, 5_000)),
    st.tuples(st.just("replay"), pick),
)


# No shrink phase: shrinking against a database can take minutes; the failing sequence is printed.
@settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=15, max_size=40))
async def test_random_transfer_sequences_keep_the_ledger_consistent(db: Database, ops: list[tuple[Any, ...]]) -> None:
    mers = [new_id("mer") for _ in range(MERCHANTS)]
    ples = [new_id("ple") for _ in range(PLES)]
    model: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])  # (m, cur) -> [avail, rsv]
    payouts: dict[str, list[Any]] = {}  # payout id -> [m, cur, amount, fee, state]
    unsettled: dict[tuple[int, str], int] = defaultdict(int)
    done: list[tuple[Any, ...]] = []  # successful calls, replayable
    days = iter(range(1, 10_000))

    async def call(fn: Any, *args: Any) -> bool:
        """Run one transfer; False when refused for lack of funds."""
        try:
            entry = await fn(db, *args)
        except InsufficientFunds:
            event(f"{fn.__name__}: refused")
            return False
        event(f"{fn.__name__}: {'posted' if entry else 'nothing to post'}")
        done.append((fn, *args))
        return True

    for op in ops:
        name = op[0]
        if name == "payin":
            _, m, p, cur, amount, fee = op
            amount, fee = max(amount, fee), min(amount, fee)
            await call(credit_payin, new_id("pi"), mers[m], ples[p], cur, amount, fee)
            model[m, cur][0] += amount - fee
        elif name == "hold":
            _, which, percent, fee = op
            funded = sorted(k for k, v in model.items() if v[0] > 0) or [(0, CURRENCIES[0])]
            m, cur = funded[which % len(funded)]
            total = model[m, cur][0] * percent // 100 + (percent > 100)  # over 100 %: one unit more
            fee = min(fee, total)
            amount = total - fee
            po = new_id("po")
            covered = model[m, cur][0] >= amount + fee
            assert await call(hold_payout_funds, po, mers[m], cur, amount, fee) == covered
            if covered:
                model[m, cur][0] -= amount + fee
                model[m, cur][1] += amount + fee
                payouts[po] = [m, cur, amount, fee, "held"]
        elif name in ("settle", "release", "reverse"):
            wanted = "settled" if name == "reverse" else "held"
            candidates = [po for po, v in payouts.items() if v[4] == wanted]
            if not candidates:
                continue
            po = candidates[op[1] % len(candidates)]
            m, cur, amount, fee, _ = payouts[po]
            if name == "settle":
                assert await call(settle_payout, po, mers[m], ples[op[2]], cur, amount, fee)
                model[m, cur][1] -= amount + fee
                payouts[po][4] = "settled"
            elif name == "release":
                assert await call(release_payout_funds, po, mers[m], cur, amount, fee)
                model[m, cur][1] -= amount + fee
                model[m, cur][0] += amount + fee
                payouts[po][4] = "failed"
            else:
                assert await call(reverse_payout, po, mers[m], ples[0], cur, amount, fee)
                model[m, cur][0] += amount + fee
                payouts[po][4] = "reversed"
        elif name == "accrue":
            _, p, cur, fee = op
            await call(accrue_provider_fee, new_id("tx"), ples[p], cur, fee)
            unsettled[p, cur] += fee
        elif name == "settle_fees":
            _, p, cur = op
            day = date(2026, 1, 1) + timedelta(days=next(days))  # one settlement per PLE and day
            total = unsettled.pop((p, cur), 0)
            await call(settle_provider_fees, ples[p], day, cur, total, new_id("stl"))
        elif name == "adjust":
            _, m, cur, amount = op
            covered = model[m, cur][0] + amount >= 0
            assert await call(adjust_merchant_balance, mers[m], cur, amount, new_id("ref"), "prop") == covered
            if covered:
                model[m, cur][0] += amount
        elif name == "replay" and done:
            fn, *args = done[op[1] % len(done)]
            await fn(db, *args)  # same idempotency key: a no-op, never refused

    assert await verify_ledger(db) == []
    for m, mer in enumerate(mers):
        expected = [
            {"currency": cur, "available": model[m, cur][0], "reserved": model[m, cur][1]}
            for cur in CURRENCIES
            if (m, cur) in model
        ]
        actual = {b["currency"]: b for b in await merchant_balances(db, mer)}
        for item in expected:
            assert actual.get(item["currency"], {**item, "available": 0, "reserved": 0}) == item
        assert all(b["available"] >= 0 and b["reserved"] >= 0 for b in actual.values())
