"""The payments kernel's engine against the real stores (no worker runs in this module).

- every (from, to) pair of every kind's machine: applied exactly when the machine allows it,
  otherwise duplicate or stale with the document untouched;
- provider reports: stale, duplicate, from another PLE, with another amount;
- a crash after each step of a state change, then the drain (or the sweep) again: every ledger
  entry, event and audit entry exists exactly once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import ledger
from core.ids import new_id
from core.payments import machine as engine
from core.payments.kinds import MACHINES
from core.payments.model import (
    STATUSES,
    Customer,
    Kind,
    Outcome,
    Payin,
    PayinMethod,
    PayinStatus,
    Payout,
    PayoutMode,
    PayoutStatus,
    ProviderReport,
    Step,
    StoredBeneficiary,
)
from core.payments.sweep import sweep_transactions
from core.timeutil import utcnow

PLE = "ple_ENGINE0000000000000000000"
ZERO = timedelta(0)


def _history(status: str) -> list[Step]:
    now = utcnow()
    return [Step(status=s, at=now, source="test") for s in dict.fromkeys(("pending", status))]


def payin(status: str, *, amount: int = 10_000) -> Payin:
    now = utcnow()
    return Payin(
        id=new_id("pi"),
        merchant_id=new_id("mer"),
        reference=new_id("ref"),
        amount=amount,
        currency="INR",
        status=PayinStatus(status),
        fee=200,
        provider_fee=50,
        ple_id=PLE,
        provider="sandbox",
        method=PayinMethod.UPI,
        customer=Customer(name="Asha", email="asha@example.com"),
        expires_at=now + timedelta(minutes=30),
        history=_history(status),
        created_at=now,
        updated_at=now,
    )


def payout(status: str, *, merchant_id: str | None = None, amount: int = 10_000) -> Payout:
    now = utcnow()
    return Payout(
        id=new_id("po"),
        merchant_id=merchant_id or new_id("mer"),
        reference=new_id("ref"),
        amount=amount,
        currency="INR",
        status=PayoutStatus(status),
        fee=500,
        provider_fee=5,
        ple_id=PLE,
        provider="sandbox",
        mode=PayoutMode.IMPS,
        beneficiary=StoredBeneficiary(name="Ravi", ifsc="HDFC0001234", account_mask="XXXXXXXX9012"),
        history=_history(status),
        created_at=now,
        updated_at=now,
    )


MAKERS = {Kind.PAYIN: payin, Kind.PAYOUT: payout}


async def stored(resources, obj: Any) -> Any:
    await MACHINES[Kind(obj.__class__.__name__.lower())].store(resources).insert(obj)
    return obj


@pytest.mark.parametrize("kind", [Kind.PAYIN, Kind.PAYOUT])
async def test_every_transition_is_allowed_exactly_when_the_machine_says(resources, kind: Kind) -> None:
    machine = MACHINES[kind]
    assert STATUSES[kind][0] not in machine.moves  # nothing ever moves back to the initial status
    checked = 0
    for to, allowed in machine.moves.items():
        for start in STATUSES[kind]:
            obj = await stored(resources, MAKERS[kind](start))
            result = await engine.commit(resources, machine, obj.id, to, source="test")
            after = await machine.store(resources).get(obj.id)
            if start == to:
                assert result.outcome == Outcome.DUPLICATE and after.version == 0, (start, to)
            elif start in allowed:
                assert result.outcome == Outcome.APPLIED, (start, to)
                assert after.status == to and after.effects_pending and len(after.outbox) == 1
                assert [h.status for h in after.history][-1] == to
            else:
                assert result.outcome == Outcome.STALE, (start, to)
                assert after.status == start and after.version == 0 and after.outbox == []
            checked += 1
    assert checked == len(machine.moves) * len(STATUSES[kind])


async def test_unknown_transaction_is_unknown(resources) -> None:
    result = await engine.commit(resources, MACHINES[Kind.PAYIN], new_id("pi"), "succeeded", source="test")
    assert result.outcome == Outcome.UNKNOWN and result.obj is None


def report(obj: Any, status: str, **over: Any) -> ProviderReport:
    fields = {
        "ple_id": obj.ple_id,
        "status": status,
        "amount": obj.amount,
        "currency": obj.currency,
        "provider_reference": "prov_1",
        "source": "test",
    }
    return ProviderReport(**{**fields, **over})


async def test_reports_stale_duplicate_and_mismatched(resources) -> None:
    machine = MACHINES[Kind.PAYIN]
    p = await stored(resources, payin("pending"))
    first = await engine.apply_report(resources, machine, report(p, "succeeded"), p.id, drain_now=True)
    assert first.outcome == Outcome.APPLIED and first.obj.provider_reference == "prov_1"
    again = await engine.apply_report(resources, machine, report(p, "succeeded"), p.id, drain_now=True)
    assert again.outcome == Outcome.DUPLICATE
    stale = await engine.apply_report(resources, machine, report(p, "failed"), p.id, drain_now=True)
    assert stale.outcome == Outcome.STALE
    assert len(await ledger.entries_for_transaction(resources.db, p.id)) == 2  # credit and fee accrual, once

    q = await stored(resources, payin("pending"))
    other_ple = await engine.apply_report(resources, machine, report(q, "succeeded", ple_id="ple_OTHER"), q.id)
    assert other_ple.outcome == Outcome.MISMATCH
    short = await engine.apply_report(resources, machine, report(q, "succeeded", amount=1), q.id)
    assert short.outcome == Outcome.MISMATCH
    after = await machine.store(resources).get(q.id)
    assert after.status == "pending" and after.needs_review and after.failure_code == "amount_mismatch"
    assert await ledger.entries_for_transaction(resources.db, q.id) == []


async def counts(resources, obj_id: str) -> tuple[int, int, int]:
    db = resources.mongo.db
    entries = len(await ledger.entries_for_transaction(resources.db, obj_id))
    events = await db.events.count_documents({"object_id": obj_id})
    audits = await db.audit_log.count_documents({"target": obj_id})
    return entries, events, audits


async def test_crash_after_the_compare_and_set_then_drain_applies_everything_once(resources) -> None:
    machine = MACHINES[Kind.PAYIN]
    p = await stored(resources, payin("pending"))
    await engine.commit(resources, machine, p.id, "succeeded", source="test")  # then the process died
    assert await counts(resources, p.id) == (0, 0, 0)
    await engine.drain(resources, machine, p.id)
    await engine.drain(resources, machine, p.id)  # a second drain (the sweep, a retried job) adds nothing
    assert await counts(resources, p.id) == (2, 1, 1)
    after = await machine.store(resources).get(p.id)
    assert not after.effects_pending and after.outbox == []


async def test_crash_inside_the_drain_then_drain_again_applies_each_item_once(resources) -> None:
    machine = MACHINES[Kind.PAYIN]
    p = await stored(resources, payin("pending"))
    moved = await engine.advance(resources, machine, p.id, "failed", source="test")  # outbox left to a job
    [item] = moved.obj.outbox
    await engine.run_outbox_item(resources, moved.obj, item)  # event and audit done, then the crash
    assert await counts(resources, p.id) == (0, 1, 1)
    await engine.drain(resources, machine, p.id)
    assert await counts(resources, p.id) == (0, 1, 1)
    assert (await machine.store(resources).get(p.id)).outbox == []


async def test_two_states_drained_late_post_in_history_order(resources) -> None:
    machine = MACHINES[Kind.PAYOUT]
    merchant = new_id("mer")
    await ledger.adjust_merchant_balance(resources.db, merchant, "INR", 20_000, new_id("fund"), "test funding")
    po = payout("pending", merchant_id=merchant)
    await ledger.post(resources.db, ledger.payout_hold(po.id, merchant, "INR", po.amount, po.fee))
    await stored(resources, po)
    # succeeded then reversed, both recorded, none of their effects applied (two crashes)
    await engine.commit(resources, machine, po.id, "succeeded", source="test")
    await engine.commit(resources, machine, po.id, "reversed", source="test")
    report_ = await sweep_transactions(resources, effects_grace=ZERO, hold_grace=timedelta(days=1))
    assert report_.effects_repaired >= 1
    kinds = [e.kind for e in await ledger.entries_for_transaction(resources.db, po.id)]
    assert kinds == ["payout_hold", "payout_succeeded", "provider_fee_accrued", "payout_reversed"]
    balance = (await ledger.merchant_balances(resources.db, merchant))[0]
    assert (balance["available"], balance["reserved"]) == (20_000, 0)
    assert await resources.mongo.db.events.count_documents({"object_id": po.id}) == 2
    assert await ledger.verify_ledger(resources.db) == []
