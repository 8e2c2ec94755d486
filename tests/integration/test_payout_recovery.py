"""A crash between any two steps of a payout, then the sweep: ledger and documents agree.

Order of writes (docs/payments.md): 1 hold, 2 document, 3 submit, 4 record the answer; and
inside each later state change: document first, then its effects.
"""

from __future__ import annotations

from datetime import timedelta

from core import ledger
from core.ids import new_id
from core.payments.payout_sweep import sweep_payouts
from core.payments.payouts import PayoutRequest
from core.payments.transitions import transition
from core.providers.registry import get_adapter
from core.routing import ple_config_by_id
from core.timeutil import utcnow
from tests.fixtures.stack import eventually

NOW = timedelta(0)
BENEFICIARY = {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"}


async def funded_merchant(routed_merchant) -> str:
    m = await routed_merchant()
    await ledger.adjust_merchant_balance(m.merchant_id, "INR", 100_000, new_id("fund"), "test funding")
    return m.merchant_id


async def balances(merchant_id: str) -> tuple[int, int]:
    row = (await ledger.merchant_balances(merchant_id))[0]
    return row["available"], row["reserved"]


def payout_doc(payout_id: str, merchant_id: str, ple_id: str, amount: int) -> dict:
    now = utcnow()
    return {
        "_id": payout_id,
        "merchant_id": merchant_id,
        "reference": payout_id,
        "amount": amount,
        "currency": "INR",
        "mode": "imps",
        "beneficiary": BENEFICIARY,
        "status": "pending",
        "fee": 500,
        "provider_fee": 5,
        "ple_id": ple_id,
        "provider": "sandbox",
        "submissions": 0,
        "history": [{"status": "pending", "at": now, "source": "api"}],
        "effects_pending": False,
        "created_at": now,
        "updated_at": now - timedelta(minutes=5),
    }


async def test_crash_after_the_hold_releases_it(routed_merchant, resources) -> None:
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_000, 500)  # step 1, then the crash
    assert await balances(merchant_id) == (89_500, 10_500)
    result = await sweep_payouts(resources, hold_grace=NOW)
    assert result["holds_released"] >= 1
    assert await balances(merchant_id) == (100_000, 0)
    again = await sweep_payouts(resources, hold_grace=NOW)  # idempotent: nothing released twice
    assert await balances(merchant_id) == (100_000, 0) and again["holds_released"] == 0
    assert await ledger.verify_ledger() == []


async def test_crash_after_the_document_before_submission_resubmits(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_000, 500)
    await resources.mongo.db.payouts.insert_one(payout_doc(payout_id, merchant_id, stack.ple_id, 10_000))
    await sweep_payouts(resources, resubmit_after=NOW)
    await _until_status(resources, payout_id, "succeeded")
    assert await balances(merchant_id) == (89_500, 0)
    assert (await stack.sandbox_counters("payouts", payout_id))["payouts_created"] == 1


async def test_crash_after_submission_before_recording_the_answer(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_000, 500)
    await resources.mongo.db.payouts.insert_one(payout_doc(payout_id, merchant_id, stack.ple_id, 10_000))
    ple = await ple_config_by_id(resources, stack.ple_id)
    request = PayoutRequest(payout_id, 10_000, "INR", "imps", BENEFICIARY)
    await get_adapter("sandbox", resources.settings).create_payout(ple, request)  # the answer is lost
    await sweep_payouts(resources, resubmit_after=NOW)
    await _until_status(resources, payout_id, "succeeded")
    counters = await stack.sandbox_counters("payouts", payout_id)
    assert counters["payouts_created"] == 1 and counters["submissions"] >= 2
    assert await balances(merchant_id) == (89_500, 0)


async def test_crash_inside_a_state_change_gets_its_effects(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_000, 500)
    await resources.mongo.db.payouts.insert_one(payout_doc(payout_id, merchant_id, stack.ple_id, 10_000))
    moved = await transition(  # the document changed, then the process died before the ledger
        resources.mongo.db.payouts,
        payout_id,
        to="failed",
        allowed_from=("pending",),
        source="test",
        fields={"failure_code": "provider_failed"},
    )
    assert moved and moved["effects_pending"] is True
    assert await balances(merchant_id) == (89_500, 10_500)
    result = await sweep_payouts(resources, effects_grace=NOW)
    assert result["effects_repaired"] >= 1
    assert await balances(merchant_id) == (100_000, 0)
    events = await resources.mongo.db.events.find({"object_id": payout_id}).to_list(5)
    assert [e["type"] for e in events] == ["payout.failed"]
    doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
    assert doc["effects_pending"] is False and doc["effects_applied"] == ["failed"]


async def _until_status(resources, payout_id: str, wanted: str) -> None:
    async def reached() -> bool:
        doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
        return doc["status"] == wanted and not doc.get("effects_pending")

    await eventually(reached, timeout=20)


async def test_a_lost_poll_is_enqueued_again(routed_merchant, resources, stack) -> None:
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_055, 500)  # 55: no callback, polls only
    doc = payout_doc(payout_id, merchant_id, stack.ple_id, 10_055)
    ple = await ple_config_by_id(resources, stack.ple_id)
    await get_adapter("sandbox", resources.settings).create_payout(
        ple, PayoutRequest(payout_id, 10_055, "INR", "imps", BENEFICIARY)
    )
    doc.update(
        status="processing", needs_review=False, next_poll={"attempt": 2, "at": utcnow() - timedelta(minutes=10)}
    )
    doc["history"].append({"status": "processing", "at": utcnow(), "source": "api"})
    doc["effects_applied"] = ["processing"]
    await resources.mongo.db.payouts.insert_one(doc)  # its poll job was lost with a Redis restart
    result = await sweep_payouts(resources, poll_grace=NOW)
    assert result["polls_requeued"] >= 1
    await _until_status(resources, payout_id, "succeeded")
    assert await balances(merchant_id) == (100_000 - 10_555, 0)


async def test_a_processing_payout_whose_first_poll_was_never_scheduled_is_polled(routed_merchant, resources, stack):
    merchant_id = await funded_merchant(routed_merchant)
    payout_id = new_id("po")
    await ledger.hold_payout_funds(payout_id, merchant_id, "INR", 10_055, 500)
    ple = await ple_config_by_id(resources, stack.ple_id)
    request = PayoutRequest(payout_id, 10_055, "INR", "imps", BENEFICIARY)
    await get_adapter("sandbox", resources.settings).create_payout(ple, request)
    doc = payout_doc(payout_id, merchant_id, stack.ple_id, 10_055)
    doc.update(status="processing", needs_review=False, effects_applied=["processing"])
    doc["history"].append({"status": "processing", "at": utcnow(), "source": "api"})
    await resources.mongo.db.payouts.insert_one(doc)  # Redis was down when the poll should have been enqueued
    assert (await sweep_payouts(resources, poll_grace=NOW))["polls_requeued"] >= 1
    await _until_status(resources, payout_id, "succeeded")
