"""A crash between any two steps of a payout, then the sweep: ledger and documents agree.

Order of writes (docs/payments.md): 1 hold, 2 document, 3 submit, 4 record the answer; and
inside each later state change: the document (status and outbox) first, then its effects.
"""

from __future__ import annotations

from datetime import timedelta

from core import ledger
from core.ids import new_id
from core.payments import beneficiary as ben
from core.payments import machine as engine
from core.payments.inputs import BeneficiaryIn
from core.payments.model import NextPoll, Payout, PayoutMode, PayoutStatus, Step
from core.payments.payouts import MACHINE
from core.payments.sweep import sweep_transactions
from core.providers.base import PayoutRequest
from core.providers.registry import get_adapter
from core.security.crypto import keyring_for
from core.storage.postgres import Handle
from core.timeutil import utcnow
from tests.fixtures.stack import eventually

NOW = timedelta(0)
BENEFICIARY = {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"}


async def funded_merchant(db: Handle, routed_merchant) -> str:
    m = await routed_merchant()
    await ledger.adjust_merchant_balance(db, m.merchant_id, "INR", 100_000, new_id("fund"), "test funding")
    return m.merchant_id


async def balances(db: Handle, merchant_id: str) -> tuple[int, int]:
    row = (await ledger.merchant_balances(db, merchant_id))[0]
    return row["available"], row["reserved"]


async def insert_payout(resources, payout_id: str, merchant_id: str, ple_id: str, amount: int, **over) -> Payout:
    """The payout document as step 2 writes it, five minutes old."""
    now = utcnow()
    ring = keyring_for(resources.settings.secrets_master_keys)
    fields = {
        "id": payout_id,
        "merchant_id": merchant_id,
        "reference": payout_id,
        "amount": amount,
        "currency": "INR",
        "mode": PayoutMode.IMPS,
        "beneficiary": ben.seal(ring, payout_id, BeneficiaryIn(**BENEFICIARY)),
        "status": PayoutStatus.PENDING,
        "fee": 500,
        "provider_fee": 5,
        "ple_id": ple_id,
        "provider": "sandbox",
        "submissions": 0,
        "history": [Step(status="pending", at=now, source="api")],
        "created_at": now,
        "updated_at": now - timedelta(minutes=5),
        **over,
    }
    payout = Payout(**fields)
    await MACHINE.store(resources).insert(payout)
    return payout


async def sweep_payouts(resources, **grace):
    return await sweep_transactions(resources, **grace)


async def submit_directly(resources, stack, payout_id: str, amount: int) -> None:
    """Step 3 happened (the provider has the payout) but its answer was lost."""
    ple = await resources.ples.get(stack.ple_id)
    request = PayoutRequest(payout_id, amount, "INR", PayoutMode.IMPS, BENEFICIARY)
    await get_adapter("sandbox", resources.settings).create_payout(ple, request)


async def test_crash_after_the_hold_releases_it(routed_merchant, resources) -> None:
    merchant_id = await funded_merchant(resources.db, routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(resources.db, payout_id, merchant_id, "INR", 10_000, 500)  # step 1, then the crash
    assert await balances(resources.db, merchant_id) == (89_500, 10_500)
    result = await sweep_payouts(resources, hold_grace=NOW)
    assert result.holds_released >= 1
    assert await balances(resources.db, merchant_id) == (100_000, 0)
    again = await sweep_payouts(resources, hold_grace=NOW)  # idempotent: nothing released twice
    assert await balances(resources.db, merchant_id) == (100_000, 0) and again.holds_released == 0
    assert await ledger.verify_ledger(resources.db) == []


async def test_crash_after_the_document_before_submission_resubmits(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(resources.db, routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(resources.db, payout_id, merchant_id, "INR", 10_000, 500)
    await insert_payout(resources, payout_id, merchant_id, stack.ple_id, 10_000)
    await sweep_payouts(resources, resubmit_after=NOW)
    await _until_status(resources, payout_id, "succeeded")
    assert await balances(resources.db, merchant_id) == (89_500, 0)
    assert (await stack.sandbox_counters("payouts", payout_id))["payouts_created"] == 1


async def test_crash_after_submission_before_recording_the_answer(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(resources.db, routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(resources.db, payout_id, merchant_id, "INR", 10_000, 500)
    await insert_payout(resources, payout_id, merchant_id, stack.ple_id, 10_000)
    await submit_directly(resources, stack, payout_id, 10_000)  # the answer is lost
    await sweep_payouts(resources, resubmit_after=NOW)
    await _until_status(resources, payout_id, "succeeded")
    counters = await stack.sandbox_counters("payouts", payout_id)
    assert counters["payouts_created"] == 1 and counters["submissions"] >= 2
    assert await balances(resources.db, merchant_id) == (89_500, 0)


async def test_crash_inside_a_state_change_gets_its_effects(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(resources.db, routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(resources.db, payout_id, merchant_id, "INR", 10_000, 500)
    await insert_payout(resources, payout_id, merchant_id, stack.ple_id, 10_000)
    # the document changed, then the process died before the ledger
    moved = await engine.commit(resources, MACHINE, payout_id, "failed", source="test")
    assert moved.obj and moved.obj.effects_pending is True
    assert await balances(resources.db, merchant_id) == (89_500, 10_500)
    result = await sweep_payouts(resources, effects_grace=NOW)
    assert result.effects_repaired >= 1
    assert await balances(resources.db, merchant_id) == (100_000, 0)
    events = await resources.mongo.db.events.find({"object_id": payout_id}).to_list(5)
    assert [e["type"] for e in events] == ["payout.failed"]
    doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
    assert doc["effects_pending"] is False and doc["outbox"] == []


async def _until_status(resources, payout_id: str, wanted: str) -> None:
    async def reached() -> bool:
        doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
        return doc["status"] == wanted and not doc.get("effects_pending")

    await eventually(reached, timeout=20)


async def test_a_lost_poll_is_enqueued_again(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(resources.db, routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(
        resources.db, payout_id, merchant_id, "INR", 10_055, 500
    )  # 55: no callback, polls only
    await submit_directly(resources, stack, payout_id, 10_055)
    now = utcnow()
    await insert_payout(  # its poll job was lost with a Redis restart
        resources,
        payout_id,
        merchant_id,
        stack.ple_id,
        10_055,
        status=PayoutStatus.PROCESSING,
        next_poll=NextPoll(attempt=2, at=now - timedelta(minutes=10)),
        history=[Step(status="pending", at=now, source="api"), Step(status="processing", at=now, source="api")],
    )
    result = await sweep_payouts(resources, poll_grace=NOW)
    assert result.polls_requeued >= 1
    await _until_status(resources, payout_id, "succeeded")
    assert await balances(resources.db, merchant_id) == (100_000 - 10_555, 0)
