"""Webhooks (§4.7): signed delivery to a real local receiver, retries, safety, the delivery log."""

from __future__ import annotations

import asyncio
import itertools
import re
import runpy
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY, generate_latest

from core.events import record_event
from core.ids import new_id
from core.job_refs import DELIVER_WEBHOOK, DeliveryArgs
from core.jobs_client import NoArgs, queue_for
from core.resources import Resources
from core.security.outbound import check_webhook_url
from core.timeutil import iso, utcnow
from core.webhooks.delivery import compare_and_set, event_body, pin_address, post_webhook, webhook_headers
from core.webhooks.signing import sign_webhook, verify_webhook
from jobs.deliver_webhook import deliver_webhook
from jobs.sweep_webhook_deliveries import sweep_webhook_deliveries
from tests.fixtures.merchants import new_merchant
from tests.integration.webhook_receiver import Receiver

DOC = Path("docs/webhooks.md").read_text()
PUBLIC_IP = "93.184.215.14"  # an ordinary public address: the positive control of the refusals


def docs_verifier(tmp_path: Path) -> Any:
    """The ```python block of docs/webhooks.md, run as the merchant's own module."""
    match = re.search(r"```python\n(.*?)```", DOC, re.S)
    assert match, "docs/webhooks.md has no python block"
    module = tmp_path / "merchant_webhooks.py"
    module.write_text(match.group(1))
    return runpy.run_path(str(module))["verify_webhook"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def ctx(resources: Resources) -> dict[str, Any]:
    return {"resources": resources}


async def new_event(res: Resources, merchant_id: str, type: str = "payin.succeeded") -> tuple[dict, dict]:
    kind = type.split(".")[0]
    object_id = new_id("pi" if kind == "payin" else "po")
    data = {
        "id": object_id,
        "object": kind,
        "status": type.split(".")[1],
        "amount": 10050,
        "currency": "INR",
        "updated_at": iso(utcnow()),
    }
    event = await record_event(res, merchant_id=merchant_id, type=type, object_id=object_id, data=data)
    delivery = await res.mongo.db.webhook_deliveries.find_one({"event_id": event["_id"]})
    assert delivery is not None and delivery["status"] == "pending" and delivery["attempts"] == []
    return event, delivery


async def delivery_of(res: Resources, delivery_id: str) -> dict[str, Any]:
    doc = await res.mongo.db.webhook_deliveries.find_one({"_id": delivery_id})
    assert doc is not None
    return doc


async def settle(res: Resources, delivery_id: str) -> None:
    """Close a delivery left pending so its queued retry is a no-op for any later worker."""
    doc = await delivery_of(res, delivery_id)
    assert await compare_and_set(res, doc, {"status": "failed", "next_attempt_at": None}) is not None


async def test_events_are_delivered_signed_and_the_docs_snippet_verifies(
    ctx, resources, make_merchant, receiver, tmp_path
):
    m = await make_merchant(webhook_url=receiver.url)
    verify = docs_verifier(tmp_path)
    for type in ("payin.succeeded", "payout.failed"):
        event, delivery = await new_event(resources, m.merchant_id, type)
        assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "delivered"
        (got,) = receiver.for_event(event["_id"])
        assert got.method == "POST" and got.path == "/hooks"
        assert got.headers["content-type"] == "application/json"
        assert abs(int(got.headers["x-webhook-timestamp"]) - time.time()) < 5
        body = orjson.loads(got.body)
        assert body == {"id": event["_id"], "type": type, "created_at": iso(event["created_at"]), "data": event["data"]}
        assert got.body == event_body(event)
        assert re.fullmatch(r"v1=[0-9a-f]{64}", got.headers["x-webhook-signature"])

        assert verify(m.webhook_secret, got.headers, got.body) is True
        tampered = got.body.replace(b"10050", b"99999")
        assert tampered != got.body and verify(m.webhook_secret, got.headers, tampered) is False
        assert verify(m.webhook_secret + "x", got.headers, got.body) is False
        ts, sig = got.headers["x-webhook-timestamp"], got.headers["x-webhook-signature"]
        assert verify_webhook(m.webhook_secret, ts, got.body, sig) is True
        assert verify_webhook(m.webhook_secret, ts, tampered, sig) is False
        old = str(int(time.time()) - 600)
        stale = {
            **got.headers,
            "x-webhook-timestamp": old,
            "x-webhook-signature": sign_webhook(m.webhook_secret, old, got.body),
        }
        assert verify(m.webhook_secret, stale, got.body) is False

        doc = await delivery_of(resources, delivery["_id"])
        assert doc["status"] == "delivered" and doc["next_attempt_at"] is None and doc["url"] == receiver.url
        (attempt,) = doc["attempts"]
        assert attempt["status_code"] == 200 and attempt["error"] is None
        assert isinstance(attempt["latency_ms"], int) and 0 <= attempt["latency_ms"] < 5000
        assert attempt["response_excerpt"].startswith('{"received": true}') and len(attempt["response_excerpt"]) == 1024

        # The same slot again (a saq retry, a duplicate job) sends nothing.
        assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "already_delivered"
        assert len(receiver.for_event(event["_id"])) == 1


async def test_500_then_200_is_delivered_on_the_scheduled_retry(ctx, resources, make_merchant, receiver):
    receiver.fail_first = 1
    m = await make_merchant(webhook_url=receiver.url)
    event, delivery = await new_event(resources, m.merchant_id)
    before = utcnow()
    assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "attempt_failed"
    doc = await delivery_of(resources, delivery["_id"])
    assert doc["status"] == "pending"
    (first,) = doc["attempts"]
    assert first["status_code"] == 500 and first["error"] == "HTTP 500"
    assert "receiver says no" in first["response_excerpt"]
    wait = (doc["next_attempt_at"] - before).total_seconds()
    assert 0.9 <= wait <= 3, wait  # schedule[0] = 1 s in tests
    job = await queue_for(resources.queue, DELIVER_WEBHOOK).job(f"{delivery['_id']}:1")
    assert job is not None and job.kwargs["attempt"] == 1 and job.scheduled >= int(before.timestamp()) + 1

    assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=1)) == "delivered"
    doc = await delivery_of(resources, delivery["_id"])
    assert doc["status"] == "delivered" and [a["status_code"] for a in doc["attempts"]] == [500, 200]
    assert len(receiver.for_event(event["_id"])) == 2


async def test_two_concurrent_runs_of_one_attempt_send_once(ctx, resources, make_merchant, receiver):
    receiver.delay = 0.3  # keep the first send in flight while the others start
    m = await make_merchant(webhook_url=receiver.url)
    event, delivery = await new_event(resources, m.merchant_id)
    outcomes = await asyncio.gather(
        *(deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) for _ in range(4))
    )
    assert sorted(outcomes).count("delivered") == 1, outcomes
    assert set(outcomes) - {"delivered"} <= {"slot_taken", "already_attempted"}, outcomes
    assert len(receiver.for_event(event["_id"])) == 1
    assert len((await delivery_of(resources, delivery["_id"]))["attempts"]) == 1


def counted(result: str) -> float:
    text = generate_latest(REGISTRY).decode()
    found = re.search(rf'^gateway_webhook_deliveries_total{{[^}}]*result="{result}"[^}}]*}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_merchant_without_webhook_url_gets_skipped(ctx, resources, make_merchant):
    m = await make_merchant()
    _, delivery = await new_event(resources, m.merchant_id)
    before = counted("skipped")
    assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "skipped"
    assert counted("skipped") == before + 1
    doc = await delivery_of(resources, delivery["_id"])
    assert doc["status"] == "skipped" and doc["next_attempt_at"] is None and doc["attempts"] == []
    listed = (await m.get("/v1/webhook-deliveries?status=skipped")).json()["data"]
    assert [d["id"] for d in listed] == [delivery["_id"]] and listed[0]["next_attempt_at"] is None


async def test_a_redirect_is_a_failure_and_is_not_followed(ctx, resources, make_merchant, receiver):
    target = Receiver()
    await target.start()
    try:
        receiver.redirect_to = target.url
        m = await make_merchant(webhook_url=receiver.url)
        event, delivery = await new_event(resources, m.merchant_id)
        assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "attempt_failed"
        (attempt,) = (await delivery_of(resources, delivery["_id"]))["attempts"]
        assert attempt["status_code"] == 302 and attempt["error"] == "redirect not followed (HTTP 302)"
        assert len(receiver.for_event(event["_id"])) == 1 and target.requests == []
        await settle(resources, delivery["_id"])
    finally:
        await target.stop()


async def test_a_receiver_slower_than_10_seconds_is_a_failed_attempt(ctx, resources, make_merchant, receiver):
    receiver.delay = 11
    m = await make_merchant(webhook_url=receiver.url)
    event, delivery = await new_event(resources, m.merchant_id)
    started = time.monotonic()
    assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=delivery["_id"], attempt=0)) == "attempt_failed"
    assert 9.9 <= time.monotonic() - started < 11
    (attempt,) = (await delivery_of(resources, delivery["_id"]))["attempts"]
    assert attempt["status_code"] is None and attempt["error"].startswith("timeout")
    assert 9900 <= attempt["latency_ms"] < 11000
    assert len(receiver.for_event(event["_id"])) == 1
    await settle(resources, delivery["_id"])


BAD_URLS = [
    "https://127.0.0.1/hooks",
    "https://10.20.30.40/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost:8443/hooks",
    f"http://{PUBLIC_IP}/hooks",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_private_and_plain_http_targets_are_refused(url, app_client, resources, admin_headers):
    with pytest.raises(ValueError):
        await check_webhook_url(url, allow_private=False)
    merchant_id = (await new_merchant(resources, "Outbound"))["merchant"]["id"]
    async with app_client("api", allow_private_webhook_targets=False) as api:
        refused = await api.patch(
            f"/admin/v1/merchants/{merchant_id}", json={"webhook_url": url}, headers=admin_headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "validation_error"
        assert refused.json()["error"]["param"] == "webhook_url"
        good = f"https://{PUBLIC_IP}/hooks"
        accepted = await api.patch(
            f"/admin/v1/merchants/{merchant_id}", json={"webhook_url": good}, headers=admin_headers
        )
        assert accepted.status_code == 200 and accepted.json()["webhook_url"] == good
    assert await check_webhook_url(f"https://{PUBLIC_IP}/hooks", allow_private=False) == [PUBLIC_IP]


async def test_the_target_is_checked_again_at_delivery_time(resources, make_merchant, receiver):
    m = await make_merchant(webhook_url=receiver.url)  # accepted while private targets were allowed
    event, delivery = await new_event(resources, m.merchant_id)
    strict = replace(resources, settings=replace(resources.settings, allow_private_webhook_targets=False))
    assert (
        await deliver_webhook({"resources": strict}, DeliveryArgs(delivery_id=delivery["_id"], attempt=0))
        == "attempt_failed"
    )
    (attempt,) = (await delivery_of(resources, delivery["_id"]))["attempts"]
    assert attempt["status_code"] is None and attempt["error"].startswith("refused: webhook URL must use https")
    assert receiver.for_event(event["_id"]) == []
    await settle(resources, delivery["_id"])


async def test_delivery_connects_to_the_checked_address_not_a_new_lookup(receiver):
    assert pin_address("https://hooks.example.com:8443/a?b=1", PUBLIC_IP) == (
        f"https://{PUBLIC_IP}:8443/a?b=1",
        {"Host": "hooks.example.com:8443"},
        {"sni_hostname": "hooks.example.com"},
    )
    assert pin_address("https://hooks.example.com/x", "2001:db8::1")[0] == "https://[2001:db8::1]/x"
    # A name that resolves nowhere still reaches the pinned address, with its own Host header.
    url = f"http://hooks.invalid:{receiver.port}/hooks"
    raw = b'{"id": "evt_pinned"}'
    result = await post_webhook(
        url, raw, webhook_headers("evt_pinned", "whsec_x", raw, int(time.time())), address="127.0.0.1"
    )
    assert result.delivered, result
    (got,) = receiver.for_event("evt_pinned")
    assert got.headers["host"] == f"hooks.invalid:{receiver.port}" and got.body == raw


async def test_events_and_deliveries_endpoints(resources, make_merchant):
    a = await make_merchant()
    b = await make_merchant()
    made = [
        await new_event(resources, a.merchant_id, t) for t in ("payin.succeeded", "payout.failed", "payin.succeeded")
    ]
    other_event, other_delivery = await new_event(resources, b.merchant_id)
    newest_first = [e["_id"] for e, _ in reversed(made)]

    first = await a.get("/v1/events?limit=2")
    assert first.status_code == 200, first.text
    page1 = first.json()
    assert page1["has_more"] is True and [e["id"] for e in page1["data"]] == newest_first[:2]
    page2 = (await a.get(f"/v1/events?limit=2&starting_after={newest_first[1]}")).json()
    assert page2["has_more"] is False and [e["id"] for e in page2["data"]] == newest_first[2:]
    typed = (await a.get("/v1/events?type=payout.failed")).json()["data"]
    assert [e["id"] for e in typed] == [made[1][0]["_id"]]
    bad_type = await a.get("/v1/events?type=payin.exploded")
    assert bad_type.status_code == 422 and bad_type.json()["error"]["param"] == "type"
    assert (await a.get("/v1/events?limit=0")).status_code == 422

    one = (await a.get(f"/v1/events/{made[0][0]['_id']}")).json()
    assert one == {
        "id": made[0][0]["_id"],
        "object": "event",
        "type": "payin.succeeded",
        "created_at": iso(made[0][0]["created_at"]),
        "data": made[0][0]["data"],
    }
    hidden = await a.get(f"/v1/events/{other_event['_id']}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"

    deliveries = (await a.get("/v1/webhook-deliveries")).json()
    assert [d["id"] for d in deliveries["data"]] == [d["_id"] for _, d in reversed(made)]
    shown = deliveries["data"][0]
    assert set(shown) >= {"id", "object", "event_id", "url", "status", "attempts", "next_attempt_at"}
    assert shown["object"] == "webhook_delivery" and shown["status"] == "pending" and shown["attempts"] == []
    by_event = (await a.get(f"/v1/webhook-deliveries?event_id={made[1][0]['_id']}")).json()["data"]
    assert [d["id"] for d in by_event] == [made[1][1]["_id"]]
    assert (await a.get(f"/v1/webhook-deliveries?event_id={other_event['_id']}")).json()["data"] == []
    assert (await a.get("/v1/webhook-deliveries?status=delivered")).json()["data"] == []
    paged = (await a.get(f"/v1/webhook-deliveries?limit=1&starting_after={made[2][1]['_id']}")).json()
    assert [d["id"] for d in paged["data"]] == [made[1][1]["_id"]] and paged["has_more"] is True
    assert (await a.get("/v1/webhook-deliveries?status=lost")).status_code == 422

    retried = await a.post(f"/v1/webhook-deliveries/{made[0][1]['_id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["id"] == made[0][1]["_id"] and retried.json()["status"] == "pending"
    entry = await resources.mongo.db.audit_log.find_one(
        {"action": "webhook_delivery.retried", "target": made[0][1]["_id"]}
    )
    assert entry is not None and entry["actor"] == f"merchant:{a.merchant_id}"
    foreign = await a.post(f"/v1/webhook-deliveries/{other_delivery['_id']}/retry")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    assert (await a.post("/v1/webhook-deliveries/whd_nope/retry")).status_code == 404


async def test_sweep_repairs_a_missing_delivery_and_a_lost_attempt(ctx, resources, make_merchant):
    m = await make_merchant()
    db = resources.mongo.db
    orphan = {
        "_id": new_id("evt", int(time.time() * 1000) - 60_000),
        "merchant_id": m.merchant_id,
        "type": "payin.failed",
        "object_id": new_id("pi"),
        "created_at": utcnow(),
        "data": {"id": "pi_x", "status": "failed"},
    }
    await db.events.insert_one(orphan)  # a crash between the event and its delivery
    _, stuck = await new_event(resources, m.merchant_id)
    long_ago = utcnow() - timedelta(minutes=5)
    await db.webhook_deliveries.update_one(
        {"_id": stuck["_id"]}, {"$set": {"claimed_attempt": 1, "next_attempt_at": long_ago}}
    )

    result = await sweep_webhook_deliveries(ctx, NoArgs())
    assert result["deliveries_created"] >= 1 and result["attempts_requeued"] >= 1
    created = await db.webhook_deliveries.find_one({"event_id": orphan["_id"]})
    assert created is not None and created["status"] == "pending"
    minute = int(time.time() // 60)  # the sweep requeues under a fresh key per minute
    webhook_queue = queue_for(resources.queue, DELIVER_WEBHOOK)  # the sweep enqueues where deliveries go
    jobs = [await webhook_queue.job(f"{stuck['_id']}:2:r{m}") for m in (minute - 1, minute)]
    job = next((j for j in jobs if j is not None), None)
    assert job is not None and job.kwargs["delivery_id"] == stuck["_id"] and job.kwargs["attempt"] == 2

    again = await sweep_webhook_deliveries(ctx, NoArgs())
    assert await db.webhook_deliveries.count_documents({"event_id": orphan["_id"]}) == 1
    assert again["deliveries_created"] == 0
    assert await deliver_webhook(ctx, DeliveryArgs(delivery_id=stuck["_id"], attempt=2)) == "skipped"


async def test_receiver_down_follows_the_schedule_then_fails_and_a_manual_retry_delivers(
    resources, make_merchant, receiver, start_role
):
    await receiver.stop()  # down: connections refused
    m = await make_merchant(webhook_url=receiver.url)
    event, delivery = await new_event(resources, m.merchant_id)  # attempt 0 is enqueued
    start_role("worker")

    doc: dict[str, Any] = {}
    async with asyncio.timeout(30):
        while doc.get("status") != "failed":
            await asyncio.sleep(0.2)
            doc = await delivery_of(resources, delivery["_id"])
    attempts = doc["attempts"]
    assert [a["attempt"] for a in attempts] == [0, 1, 2, 3]
    assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in attempts)
    gaps = [(b["at"] - a["at"]).total_seconds() for a, b in itertools.pairwise(attempts)]
    for gap, wanted in zip(gaps, (1, 2, 3), strict=True):
        assert wanted - 0.1 <= gap <= wanted + 2.5, gaps
    assert doc["next_attempt_at"] is None

    await receiver.start()  # back up on the same port
    retried = await m.post(f"/v1/webhook-deliveries/{delivery['_id']}/retry")
    assert retried.status_code == 202, retried.text
    await receiver.wait_for(event["_id"], 1, timeout=15)
    async with asyncio.timeout(10):
        while doc["status"] != "delivered":
            await asyncio.sleep(0.1)
            doc = await delivery_of(resources, delivery["_id"])
    assert len(doc["attempts"]) == 5 and doc["attempts"][-1]["manual"] is True
    assert doc["attempts"][-1]["status_code"] == 200
    shown = (await m.get(f"/v1/webhook-deliveries?event_id={event['_id']}")).json()["data"][0]
    assert shown["status"] == "delivered" and [a["status_code"] for a in shown["attempts"]] == [None] * 4 + [200]
    assert len(receiver.for_event(event["_id"])) == 1
