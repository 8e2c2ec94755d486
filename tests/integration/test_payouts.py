"""Payouts end to end: funds hold, provider submission, polling, reversal, against real roles."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from core import ledger
from core.ids import new_id
from core.payments.beneficiary import search_hash
from core.security.crypto import keyring_for
from core.storage.postgres import Database, Handle
from tests.fixtures.stack import eventually

FEE = 500  # the routed merchant's imps fee (tests/fixtures/stack.py)


def payout_body(amount: int, reference: str, **extra) -> dict:
    body = {
        "amount": amount,
        "currency": "INR",
        "reference": reference,
        "mode": "imps",
        "beneficiary": {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"},
    }
    body.update(extra)
    return body


async def balances(db: Handle, merchant_id: str) -> tuple[int, int]:
    rows = await ledger.merchant_balances(db, merchant_id)
    row = next((b for b in rows if b["currency"] == "INR"), {"available": 0, "reserved": 0})
    return row["available"], row["reserved"]


async def funded(db: Handle, routed_merchant, amount: int = 100_000):
    m = await routed_merchant()
    await ledger.adjust_merchant_balance(db, m.merchant_id, "INR", amount, new_id("fund"), "test funding")
    return m


async def settled(resources, payout_id: str, wanted: str, timeout: float = 20) -> dict:
    async def reached():
        doc = await resources.mongo.db.payouts.find_one({"_id": payout_id})
        return doc if doc["status"] == wanted and not doc.get("effects_pending") else None

    return await eventually(reached, timeout)


async def create(m, amount: int, reference: str, **extra) -> dict:
    response = await m.post("/v1/payouts", payout_body(amount, reference, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_succeeded_payout_moves_held_funds_out(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_000, "ok-00")
    assert payout["fee"] == FEE and payout["total_debited"] == 10_500
    assert payout["beneficiary"]["account_number"] == "XXXXXXXX9012"
    assert await balances(resources.db, m.merchant_id) in {(89_500, 10_500), (89_500, 0)}
    await settled(resources, payout["id"], "succeeded")
    assert await balances(resources.db, m.merchant_id) == (89_500, 0)
    events = await resources.mongo.db.events.find({"object_id": payout["id"]}).to_list(10)
    assert sorted(e["type"] for e in events) == ["payout.processing", "payout.succeeded"]


async def test_failed_after_acceptance_gives_funds_back(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_051, "fail-51")
    await settled(resources, payout["id"], "failed")
    assert await balances(resources.db, m.merchant_id) == (100_000, 0)


async def test_rejected_at_submission_is_created_failed_with_funds_released(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_052, "reject-52")
    assert payout["status"] == "failed" and payout["failure_code"] == "provider_rejected"
    await settled(resources, payout["id"], "failed")
    assert await balances(resources.db, m.merchant_id) == (100_000, 0)


async def test_stuck_payout_needs_review_after_polls_run_out(
    db: Database, routed_merchant, resources, api, admin_headers
) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_053, "stuck-53")

    async def flagged():
        doc = await resources.mongo.db.payouts.find_one({"_id": payout["id"]})
        return doc if doc.get("needs_review") else None

    doc = await eventually(flagged, timeout=30)  # polls at 1, 2, 4 s in test settings
    assert doc["status"] == "processing" and doc["review_reason"] == "needs_review" and doc["next_poll"] is None
    assert await balances(db, m.merchant_id) == (89_447, 10_553)  # still held: never failed by guesswork
    listed = (await api.get("/admin/v1/payouts?needs_review=true&limit=100", headers=admin_headers)).json()
    assert payout["id"] in [p["id"] for p in listed["data"]]


async def test_succeeded_then_reversed_returns_funds_once(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_054, "reverse-54")
    await settled(resources, payout["id"], "reversed")
    assert await balances(resources.db, m.merchant_id) == (100_000, 0)
    kinds = sorted(e.kind for e in await ledger.entries_for_transaction(resources.db, payout["id"]))
    assert kinds == ["payout_hold", "payout_reversed", "payout_succeeded", "provider_fee_accrued"]


async def test_dropped_callback_is_found_by_polling(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_055, "silent-55")
    doc = await settled(resources, payout["id"], "succeeded")
    assert [h["source"] for h in doc["history"]][-1] == "poll"
    assert await balances(resources.db, m.merchant_id) == (100_000 - 10_555, 0)


async def test_503_on_first_submission_is_resubmitted_as_one_payout(routed_merchant, resources, stack) -> None:
    m = await funded(resources.db, routed_merchant)
    payout = await create(m, 10_056, "retry-56")
    assert payout["status"] == "pending"  # the provider answered 503: unknown, so still held
    await settled(resources, payout["id"], "succeeded")
    counters = await stack.sandbox_counters("payouts", payout["id"])
    assert counters["payouts_created"] == 1 and counters["submissions"] >= 2


async def test_hundred_concurrent_payouts_against_funds_for_fifty(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant, amount=50 * (1_000 + FEE))
    responses = await asyncio.gather(*[m.post("/v1/payouts", payout_body(1_000, f"c-{i}")) for i in range(100)])
    codes = [r.status_code for r in responses]
    assert codes.count(201) == 50, codes
    assert all(r.json()["error"]["code"] == "insufficient_funds" for r in responses if r.status_code == 422)
    available, reserved = await balances(resources.db, m.merchant_id)
    assert available == 0 and reserved >= 0
    assert await resources.mongo.db.payouts.count_documents({"merchant_id": m.merchant_id}) == 50
    assert await ledger.verify_ledger(resources.db) == []


async def test_insufficient_funds_holds_and_stores_nothing(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant, amount=1_000)
    response = await m.post("/v1/payouts", payout_body(1_000, "too-much"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "insufficient_funds"
    assert await balances(resources.db, m.merchant_id) == (1_000, 0)
    assert await resources.mongo.db.payouts.count_documents({"merchant_id": m.merchant_id}) == 0


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"mode": "upi"}, "beneficiary.vpa"),
        (
            {"mode": "upi", "beneficiary": {"name": "R", "vpa": "ravi@okbank", "ifsc": "HDFC0001234"}},
            "beneficiary.account_number",
        ),
        ({"beneficiary": {"name": "R", "account_number": "123456789012", "ifsc": "HDFC1234"}}, "beneficiary.ifsc"),
        ({"beneficiary": {"name": "R", "ifsc": "HDFC0001234"}}, "beneficiary.account_number"),
        ({"beneficiary": {"name": "R", "account_number": "12ab", "ifsc": "HDFC0001234"}}, "beneficiary.account_number"),
        ({"mode": "wire"}, "mode"),
        ({"amount": 0}, "amount"),
        ({"amount": 50_000_001}, "amount"),
        ({"mode": "rtgs", "amount": 10_000}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_validation_names_the_field(db: Database, routed_merchant, change, param) -> None:
    m = await funded(db, routed_merchant)
    body = payout_body(10_000, "v-1")
    body.update(change)
    response = await m.post("/v1/payouts", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param
    assert await balances(db, m.merchant_id) == (100_000, 0)


async def test_idempotency_and_duplicate_reference(routed_merchant, resources) -> None:
    m = await funded(resources.db, routed_merchant)
    key = {"Idempotency-Key": "po-key-1"}
    first = await m.post("/v1/payouts", payout_body(1_000, "idem-po"), headers=key)
    replay = await m.post("/v1/payouts", payout_body(1_000, "idem-po"), headers=key)
    assert first.status_code == 201 and replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    dup = await m.post("/v1/payouts", payout_body(1_000, "idem-po"))
    assert dup.status_code == 409 and dup.json()["error"]["existing_id"] == first.json()["id"]
    assert await resources.mongo.db.payouts.count_documents({"merchant_id": m.merchant_id}) == 1


async def test_another_merchants_payout_is_not_found_and_numbers_are_masked(
    db: Database, routed_merchant, stack
) -> None:
    owner, other = await funded(db, routed_merchant), await funded(db, routed_merchant)
    payout = await create(owner, 1_000, "mine")
    assert (await other.get(f"/v1/payouts/{payout['id']}")).status_code == 404
    listed = await owner.get("/v1/payouts")
    assert "123456789012" not in listed.text and "XXXXXXXX9012" in listed.text
    for proc in (stack.payment, stack.worker, stack.api):
        assert "123456789012" not in proc.output()


async def test_account_numbers_and_vpas_are_stored_only_encrypted(routed_merchant, resources, stack) -> None:
    """Issue 17 item 12: a MongoDB dump reveals no beneficiary account or VPA; the provider still
    receives them, and masks and keyed hashes remain for display and search."""
    m = await funded(resources.db, routed_merchant)
    account, vpa = "987654321098", "ravi.kumar@okbank"
    bank = await create(
        m, 1_000, new_id("enc"), beneficiary={"name": "R", "account_number": account, "ifsc": "HDFC0001234"}
    )
    upi = await create(m, 1_000, new_id("enc"), mode="upi", beneficiary={"name": "R", "vpa": vpa})
    for shown, secret in ((bank, account), (upi, vpa)):
        raw = await resources.mongo.db.payouts.find_one({"_id": shown["id"]})
        dumped = orjson.dumps(raw, default=str).decode()
        assert secret not in dumped and secret[-8:] not in dumped, dumped
        assert secret not in orjson.dumps(shown).decode()  # nor in the answer
    assert bank["beneficiary"]["account_number"] == "XXXXXXXX1098"
    assert upi["beneficiary"]["vpa"] == "ra***@okbank"
    raw_bank = await resources.mongo.db.payouts.find_one({"_id": bank["id"]})
    ring = keyring_for(resources.settings.secrets_master_keys)
    assert raw_bank["beneficiary"]["account_hash"] == search_hash(ring, account)  # findable without the number
    await settled(resources, bank["id"], "succeeded")  # the provider was paid: it got the real number
    moved = await stack.sandbox_counters("payouts", bank["id"])
    assert moved["payouts_created"] == 1
