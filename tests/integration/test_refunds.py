"""Refunds end to end (ARCHITECTURE §4.9, §5, §6, §7) through the real stack and sandbox.

The sandbox pays a payin whose amount ends in 00; a refund's own `amount % 100` chooses its
outcome (the payout column of §5): 00 succeeded, 51 failed, 52 rejected at submission, 53 stays
processing, 55 succeeded without a callback, 56 a first submission answered 503.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from typing import Any

import orjson
import pytest

from core import ledger
from core.ids import new_id
from core.payments import machine as engine
from core.payments.model import Refund, RefundStatus, Step
from core.payments.refunds import MACHINE
from core.payments.sweep import sweep_transactions
from core.storage.postgres import Handle
from core.timeutil import utcnow
from tests.fixtures.stack import eventually

PAYIN = 10_000  # paid in full by the sandbox; the merchant keeps 9,800 (2 % fee)
ZERO = timedelta(0)


def payin_body(amount: int = PAYIN) -> dict[str, Any]:
    customer = {"name": "Asha", "email": "asha@example.com"}
    return {"amount": amount, "currency": "INR", "reference": new_id("ref"), "method": "upi", "customer": customer}


def refund_body(payin_id: str, amount: int | None = None, **extra: Any) -> dict[str, Any]:
    body = {"payin_id": payin_id, "reference": new_id("rref"), **extra}
    if amount is not None:
        body["amount"] = amount
    return body


async def settled(resources, kind: str, object_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    async def check() -> dict | None:
        doc = await resources.mongo.db[f"{kind}s"].find_one({"_id": object_id})
        return doc if doc and doc["status"] == status and not doc["effects_pending"] else None

    return await eventually(check, timeout=timeout)


async def balances(db: Handle, merchant_id: str) -> tuple[int, int]:
    row = (await ledger.merchant_balances(db, merchant_id))[0]
    return row["available"], row["reserved"]


async def paid_payin(routed_merchant, resources, top_up: int = 0) -> tuple[Any, dict[str, Any]]:
    """A merchant with one succeeded payin of 10,000 (and `top_up` more available)."""
    m = await routed_merchant()
    payin = (await m.post("/v1/payins", payin_body())).json()
    await settled(resources, "payin", payin["id"], "succeeded")
    if top_up:
        await ledger.adjust_merchant_balance(resources.db, m.merchant_id, "INR", top_up, new_id("fund"), "test funding")
    return m, payin


async def test_a_full_refund_defaults_to_the_whole_payin_and_succeeds(routed_merchant, resources, stack) -> None:
    m, payin = await paid_payin(routed_merchant, resources, top_up=200)
    assert await balances(resources.db, m.merchant_id) == (10_000, 0)
    response = await m.post("/v1/refunds", refund_body(payin["id"], reason="customer returned it"))
    assert response.status_code == 201, response.text
    refund = response.json()
    assert refund["object"] == "refund" and refund["amount"] == PAYIN and refund["payin_id"] == payin["id"]
    assert refund["status"] in ("pending", "processing") and "fee" not in refund
    await settled(resources, "refund", refund["id"], "succeeded")
    assert await balances(resources.db, m.merchant_id) == (0, 0)  # the fee on the payin is not returned (§4.9)
    shown = (await m.get(f"/v1/payins/{payin['id']}")).json()
    assert shown["amount_refunded"] == PAYIN
    events = await resources.mongo.db.events.find({"object_id": refund["id"]}).sort("_id", 1).to_list(5)
    assert [e["type"] for e in events] == ["refund.processing", "refund.succeeded"]
    counters = await stack.sandbox_counters("refunds", refund["id"])
    assert counters["refunds_created"] == 1
    assert await ledger.verify_ledger(resources.db) == []


async def test_partial_refunds_up_to_the_amount_then_one_more_is_refused(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources, top_up=5_000)
    first = (await m.post("/v1/refunds", refund_body(payin["id"], 3_000))).json()
    second = (await m.post("/v1/refunds", refund_body(payin["id"], 7_000))).json()
    over = await m.post("/v1/refunds", refund_body(payin["id"], 100))
    assert over.status_code == 422 and over.json()["error"]["code"] == "refund_exceeds_payin"
    for refund in (first, second):
        await settled(resources, "refund", refund["id"], "succeeded")
    assert await balances(resources.db, m.merchant_id) == (14_800 - PAYIN, 0)
    listed = (await m.get(f"/v1/refunds?payin_id={payin['id']}")).json()
    assert sorted(r["amount"] for r in listed["data"]) == [3_000, 7_000]
    assert (await m.get(f"/v1/payins/{payin['id']}")).json()["amount_refunded"] == PAYIN
    nothing_left = await m.post("/v1/refunds", refund_body(payin["id"]))
    assert nothing_left.status_code == 422 and nothing_left.json()["error"]["code"] == "refund_exceeds_payin"


async def test_twelve_concurrent_refunds_of_2000_on_10000_accept_exactly_five(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources, top_up=50_000)
    responses = await asyncio.gather(*(m.post("/v1/refunds", refund_body(payin["id"], 2_000)) for _ in range(12)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [422] * 7, codes
    assert all(r.json()["error"]["code"] == "refund_exceeds_payin" for r in responses if r.status_code == 422)
    for r in responses:
        if r.status_code == 201:
            await settled(resources, "refund", r.json()["id"], "succeeded")
    assert await balances(resources.db, m.merchant_id) == (59_800 - PAYIN, 0)
    assert await resources.mongo.db.refunds.count_documents({"payin_id": payin["id"]}) == 5
    assert await ledger.verify_ledger(resources.db) == []


async def test_insufficient_funds_holds_nothing(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)  # 9,800 available
    response = await m.post("/v1/refunds", refund_body(payin["id"], PAYIN))
    assert response.status_code == 422 and response.json()["error"]["code"] == "insufficient_funds"
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    assert await resources.mongo.db.refunds.count_documents({"payin_id": payin["id"]}) == 0
    # nothing was reserved against the payin either: the whole 9,800 can still be refunded
    ok = await m.post("/v1/refunds", refund_body(payin["id"], 9_800))
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("amount", "status", "failure_code"),
    [(1_051, "failed", "provider_failed"), (1_052, "failed", "provider_rejected")],
)
async def test_failed_and_rejected_refunds_give_the_amount_back(
    routed_merchant, resources, amount, status, failure_code
) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund = (await m.post("/v1/refunds", refund_body(payin["id"], amount))).json()
    doc = await settled(resources, "refund", refund["id"], status)
    assert doc["failure_code"] == failure_code
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    again = await m.post("/v1/refunds", refund_body(payin["id"], 9_800))  # refundable again
    assert again.status_code == 201, again.text
    assert await ledger.verify_ledger(resources.db) == []


async def test_a_refund_without_callback_is_found_by_polling(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund = (await m.post("/v1/refunds", refund_body(payin["id"], 1_055))).json()
    doc = await settled(resources, "refund", refund["id"], "succeeded")
    assert doc["history"][-1]["source"] == "poll"
    assert await balances(resources.db, m.merchant_id) == (9_800 - 1_055, 0)


async def test_a_stuck_refund_needs_review_after_polling_runs_out(routed_merchant, resources, api, admin_headers):
    m, payin = await paid_payin(routed_merchant, resources)
    refund = (await m.post("/v1/refunds", refund_body(payin["id"], 1_053))).json()

    async def flagged() -> dict | None:
        doc = await resources.mongo.db.refunds.find_one({"_id": refund["id"]})
        return doc if doc["needs_review"] else None

    doc = await eventually(flagged, timeout=40)
    assert doc["status"] == "processing" and doc["review_reason"] == "needs_review"
    assert await balances(resources.db, m.merchant_id) == (9_800 - 1_053, 1_053)  # still held, not failed by guesswork


async def test_a_first_submission_answered_503_is_resubmitted_once_made(routed_merchant, resources, stack) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund = (await m.post("/v1/refunds", refund_body(payin["id"], 1_056))).json()
    assert refund["status"] == "pending"  # ambiguous: never failed by guesswork
    await settled(resources, "refund", refund["id"], "succeeded", timeout=30)
    counters = await stack.sandbox_counters("refunds", refund["id"])
    assert counters["refunds_created"] == 1 and counters["submissions"] >= 2


async def test_idempotency_replay_and_duplicate_reference(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    body = refund_body(payin["id"], 1_000)
    key = {"Idempotency-Key": new_id("idem")}
    first = await m.post("/v1/refunds", body, headers=key)
    replay = await m.post("/v1/refunds", body, headers=key)
    assert first.status_code == 201 and replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    dup = await m.post("/v1/refunds", body)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_reference"
    assert dup.json()["error"]["existing_id"] == first.json()["id"]
    assert await resources.mongo.db.refunds.count_documents({"payin_id": payin["id"]}) == 1


async def test_only_a_succeeded_payin_of_the_merchant_is_refundable(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    other = await routed_merchant()
    await ledger.adjust_merchant_balance(resources.db, other.merchant_id, "INR", 50_000, new_id("fund"), "test funding")
    theirs = await other.post("/v1/refunds", refund_body(payin["id"], 1_000))
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"
    pending = (await m.post("/v1/payins", payin_body(10_052))).json()  # 52: never paid
    refused = await m.post("/v1/refunds", refund_body(pending["id"], 1_000))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "payin_not_refundable"
    bad = await m.post("/v1/refunds", refund_body(payin["id"], 0))
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "amount"


async def test_a_crash_after_the_hold_is_released_by_the_sweep(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund_id = new_id("rf")
    await ledger.hold_refund_funds(
        resources.db, refund_id, payin["id"], m.merchant_id, "INR", PAYIN, 4_000
    )  # then the crash
    assert await balances(resources.db, m.merchant_id) == (5_800, 4_000)
    report = await sweep_transactions(resources, hold_grace=ZERO)
    assert report.holds_released >= 1
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    assert await ledger.verify_ledger(resources.db) == []  # the guard gave the 4,000 back too
    assert (await m.post("/v1/refunds", refund_body(payin["id"], 9_800))).status_code == 201


async def test_a_crash_before_submission_is_resubmitted_by_the_sweep(routed_merchant, resources, stack) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund_id = new_id("rf")
    await ledger.hold_refund_funds(resources.db, refund_id, payin["id"], m.merchant_id, "INR", PAYIN, 2_000)
    now = utcnow()
    refund = Refund(
        id=refund_id,
        merchant_id=m.merchant_id,
        payin_id=payin["id"],
        reference=refund_id,
        amount=2_000,
        currency="INR",
        status=RefundStatus.PENDING,
        ple_id=stack.ple_id,
        provider="sandbox",
        history=[Step(status="pending", at=now, source="api")],
        created_at=now,
        updated_at=now - timedelta(minutes=5),
    )
    await MACHINE.store(resources).insert(refund)  # step 2 done, then the crash
    await sweep_transactions(resources, resubmit_after=ZERO)
    await settled(resources, "refund", refund_id, "succeeded")
    assert (await stack.sandbox_counters("refunds", refund_id))["refunds_created"] == 1
    assert await balances(resources.db, m.merchant_id) == (7_800, 0)


async def test_a_crash_inside_a_state_change_gets_its_effects_from_the_sweep(routed_merchant, resources) -> None:
    m, payin = await paid_payin(routed_merchant, resources)
    refund = (await m.post("/v1/refunds", refund_body(payin["id"], 1_053))).json()  # stays processing
    await settled(resources, "refund", refund["id"], "processing")
    await engine.commit(resources, MACHINE, refund["id"], "failed", source="test")  # then the crash
    assert await balances(resources.db, m.merchant_id) == (9_800 - 1_053, 1_053)
    await sweep_transactions(resources, effects_grace=ZERO)
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    events = await resources.mongo.db.events.find({"object_id": refund["id"]}).to_list(5)
    assert sorted(e["type"] for e in events) == ["refund.failed", "refund.processing"]
    assert await ledger.verify_ledger(resources.db) == []


async def test_the_cli_refunds_like_the_api(routed_merchant, resources) -> None:
    """docs/payments.md's example: `gateway invoke refunds.create`, then list and the payin."""
    m, payin = await paid_payin(routed_merchant, resources)

    def invoke(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "core", "invoke", *args, "--merchant", m.merchant_id],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    body = orjson.dumps({"payin_id": payin["id"], "reference": "cli-refund", "amount": 2_500}).decode()
    created = await asyncio.to_thread(invoke, "refunds.create", "--json", body)
    assert created["status"] == 201 and created["body"]["amount"] == 2_500
    await settled(resources, "refund", created["body"]["id"], "succeeded")
    listed = await asyncio.to_thread(invoke, "refunds.list", "--query", f"payin_id={payin['id']}")
    assert [r["id"] for r in listed["body"]["data"]] == [created["body"]["id"]]
    shown = await asyncio.to_thread(invoke, "payins.get", "--param", f"payin_id={payin['id']}")
    assert shown["body"]["amount_refunded"] == 2_500
