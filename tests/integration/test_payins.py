"""Payins end to end: real payment and worker roles, the sandbox PSP calling back over HTTP."""

from __future__ import annotations

import asyncio

import pytest

from core import ledger
from core.storage.postgres import Database, Handle
from tests.fixtures.stack import eventually


def payin_body(amount: int, reference: str, **extra) -> dict:
    body = {
        "amount": amount,
        "currency": "INR",
        "reference": reference,
        "method": "upi",
        "customer": {"name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"},
    }
    body.update(extra)
    return body


async def available(db: Handle, merchant_id: str) -> int:
    balances = await ledger.merchant_balances(db, merchant_id)
    return next((b["available"] for b in balances if b["currency"] == "INR"), 0)


async def status_of(resources, payin_id: str) -> str:
    doc = await resources.mongo.db.payins.find_one({"_id": payin_id}, {"status": 1})
    return doc["status"]


async def wait_status(resources, payin_id: str, wanted: str, timeout: float = 15) -> None:
    """Until the payin is in `wanted` with that state's effects (ledger, event) applied."""

    async def reached() -> bool:
        doc = await resources.mongo.db.payins.find_one({"_id": payin_id})
        return doc["status"] == wanted and not doc.get("effects_pending")

    await eventually(reached, timeout)


async def create(m, amount: int, reference: str, **extra):
    response = await m.post("/v1/payins", payin_body(amount, reference, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_paid_payin_succeeds_and_credits_amount_minus_fee_once(routed_merchant, resources, stack) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_000, "ok-00")
    assert payin["status"] == "pending" and payin["fee"] == 200 and payin["net_amount"] == 9_800
    assert payin["payment_url"] and payin["provider"] == "sandbox" and payin["expires_at"].endswith("Z")
    await wait_status(resources, payin["id"], "succeeded")
    assert await available(resources.db, m.merchant_id) == 9_800
    shown = (await m.get(f"/v1/payins/{payin['id']}")).json()
    assert shown["status"] == "succeeded" and [h["status"] for h in shown["status_history"]] == ["pending", "succeeded"]
    entries = await ledger.entries_for_transaction(resources.db, payin["id"])
    assert sorted(e.kind for e in entries) == ["payin_succeeded", "provider_fee_accrued"]
    events = await resources.mongo.db.events.find({"object_id": payin["id"]}).to_list(10)
    assert [e["type"] for e in events] == ["payin.succeeded"]


async def test_failed_payin(routed_merchant, resources) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_051, "fail-51")
    await wait_status(resources, payin["id"], "failed")
    assert await available(resources.db, m.merchant_id) == 0
    assert (await m.get(f"/v1/payins/{payin['id']}")).json()["failure_code"] == "provider_failed"


async def test_never_paid_payin_expires(routed_merchant, resources) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_052, "never-52", expires_in_minutes=2)  # 2 s in test settings
    await wait_status(resources, payin["id"], "expired")
    events = await resources.mongo.db.events.find({"object_id": payin["id"]}).to_list(10)
    assert [e["type"] for e in events] == ["payin.expired"]
    assert await available(resources.db, m.merchant_id) == 0


async def test_late_payment_after_expiry_succeeds_once_and_is_flagged(routed_merchant, resources, stack) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_053, "late-53", expires_in_minutes=1)
    await wait_status(resources, payin["id"], "expired")
    await wait_status(resources, payin["id"], "succeeded")
    shown = (await m.get(f"/v1/payins/{payin['id']}")).json()
    assert shown["late"] is True
    assert [h["status"] for h in shown["status_history"]] == ["pending", "expired", "succeeded"]
    assert await available(resources.db, m.merchant_id) == 10_053 - 201
    audit = await resources.mongo.db.audit_log.find({"target": payin["id"]}).to_list(10)
    assert "payin.late_succeeded" in [a["action"] for a in audit]


async def test_a_late_payment_whose_callback_is_lost_is_found_by_asking_again(
    routed_merchant, resources, stack
) -> None:
    """An expired payin is asked again a few times (core/payments/payins.py LATE_CHECKS): the
    provider took the money after expiry and its callback never came, yet it is credited once."""
    m = await routed_merchant()
    payin = await create(m, 10_053, "late-lost-53", expires_in_minutes=1)
    dropped = await stack.http.post(f"{stack.sandbox.url}/__sandbox/faults", json={"drop_callbacks_of": [payin["id"]]})
    assert dropped.status_code == 200, dropped.text
    await wait_status(resources, payin["id"], "expired")
    await wait_status(resources, payin["id"], "succeeded", timeout=30)
    sandbox = await stack.sandbox_counters("payins", payin["id"])
    assert [c["outcome"] for c in sandbox["callbacks"]] == ["dropped"]  # nothing told the gateway
    shown = (await m.get(f"/v1/payins/{payin['id']}")).json()
    assert shown["late"] is True and [h["status"] for h in shown["status_history"]] == [
        "pending",
        "expired",
        "succeeded",
    ]
    assert await available(resources.db, m.merchant_id) == 10_053 - 201
    doc = await resources.mongo.db.payins.find_one({"_id": payin["id"]})
    assert doc["history"][-1]["source"] == "late_check"


async def test_an_expired_payin_is_asked_a_bounded_number_of_times(routed_merchant, resources, stack) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_052, "never-paid-52", expires_in_minutes=1)  # the provider never takes it
    await wait_status(resources, payin["id"], "expired")

    async def checks_stopped() -> bool:
        doc = await resources.mongo.db.payins.find_one({"_id": payin["id"]})
        return doc["status"] == "expired" and doc.get("next_poll") is None

    await eventually(checks_stopped, timeout=30)
    assert (await m.get(f"/v1/payins/{payin['id']}")).json()["status"] == "expired"
    assert await available(resources.db, m.merchant_id) == 0


async def test_double_callback_credits_once(db: Database, routed_merchant, resources, stack) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_054, "double-54")
    await wait_status(resources, payin["id"], "succeeded")

    async def both_callbacks_answered() -> list:
        sent = (await stack.sandbox_counters("payins", payin["id"]))["callbacks"]
        return sent if len(sent) == 2 and all(c["outcome"] == "delivered" for c in sent) else []

    sent = await eventually(both_callbacks_answered)
    stored = await resources.mongo.db.provider_callbacks.count_documents({"object_id": payin["id"]})
    assert stored == len({c["event_id"] for c in sent})  # a redelivered event id is stored once
    assert await available(db, m.merchant_id) == 10_054 - 201
    assert len([e for e in await ledger.entries_for_transaction(db, payin["id"]) if e.kind == "payin_succeeded"]) == 1


async def test_payin_without_callback_is_found_by_the_expiry_check(routed_merchant, resources) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_055, "silent-55", expires_in_minutes=2)
    await asyncio.sleep(1)
    assert await status_of(resources, payin["id"]) == "pending"  # paid, but nobody told us yet
    await wait_status(resources, payin["id"], "succeeded")
    assert await available(resources.db, m.merchant_id) == 10_055 - 201


async def test_stale_failed_after_paid_is_ignored(db: Database, routed_merchant, resources) -> None:
    m = await routed_merchant()
    payin = await create(m, 10_056, "stale-56")
    await wait_status(resources, payin["id"], "succeeded")

    async def stale_one_processed() -> list:
        docs = await resources.mongo.db.provider_callbacks.find(
            {"object_id": payin["id"], "reported_status": "failed", "status": "processed"}
        ).to_list(5)
        return docs

    [stale] = await eventually(stale_one_processed)
    assert stale["outcome"].startswith("stale")  # a forward-only machine refused to go back
    assert await status_of(resources, payin["id"]) == "succeeded"
    assert await available(db, m.merchant_id) == 10_056 - 201


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 10_000_000_01}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"method": "cheque"}, "method"),
        ({"customer": {"name": "A", "email": "not-an-email"}}, "customer.email"),
        ({"customer": {"name": "A", "email": "a@example.com", "shoe": "9"}}, "shoe"),
        ({"colour": "red"}, "colour"),
        ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
        ({"metadata": {"k": "v" * 501}}, "metadata.k"),
        ({"reference": "x" * 65}, "reference"),
        ({"expires_in_minutes": 100_000}, "expires_in_minutes"),
    ],
)
async def test_validation_names_the_field(routed_merchant, change, param) -> None:
    m = await routed_merchant()
    body = payin_body(10_000, "v-1")
    body.update(change)
    response = await m.post("/v1/payins", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["param"] == param


async def test_idempotency_key_replays_byte_for_byte_and_refuses_changes(routed_merchant) -> None:
    m = await routed_merchant()
    key = {"Idempotency-Key": "order-77"}
    first = await m.post("/v1/payins", payin_body(10_000, "idem-1"), headers=key)
    assert first.status_code == 201
    again = await m.post("/v1/payins", payin_body(10_000, "idem-1"), headers=key)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    changed = await m.post("/v1/payins", payin_body(10_001, "idem-1"), headers=key)
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_idempotency_key(routed_merchant, resources) -> None:
    m = await routed_merchant()
    body = payin_body(10_000, "idem-race")
    # distinct timestamps are not needed: each request is signed at its own second at most once
    responses = await asyncio.gather(
        *[m.post("/v1/payins", body, headers={"Idempotency-Key": "race-1", "X-Request-Id": f"r{i}"}) for i in range(5)]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 401, 409}
    assert await resources.mongo.db.payins.count_documents({"merchant_id": m.merchant_id}) == 1


async def test_hundred_concurrent_creates_with_one_reference_make_one_payin(routed_merchant, resources) -> None:
    m = await routed_merchant()
    responses = await asyncio.gather(*[m.post("/v1/payins", payin_body(10_000 + i, "same-ref")) for i in range(100)])
    created = [r for r in responses if r.status_code == 201]
    dupes = [r for r in responses if r.status_code == 409]
    assert len(created) == 1 and len(dupes) == 99
    assert {d.json()["error"]["existing_id"] for d in dupes} == {created[0].json()["id"]}
    assert await resources.mongo.db.payins.count_documents({"merchant_id": m.merchant_id}) == 1


async def test_another_merchants_payin_is_not_found(routed_merchant) -> None:
    owner, other = await routed_merchant(), await routed_merchant()
    payin = await create(owner, 10_000, "mine")
    response = await other.get(f"/v1/payins/{payin['id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_list_pagination_returns_every_payin_exactly_once(routed_merchant) -> None:
    m = await routed_merchant()
    ids = {(await create(m, 10_052, f"page-{i}"))["id"] for i in range(7)}
    seen, cursor = [], None
    while True:
        query = "limit=3" + (f"&starting_after={cursor}" if cursor else "")
        page = (await m.get(f"/v1/payins?{query}")).json()
        seen += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    filtered = (await m.get("/v1/payins?reference=page-3")).json()["data"]
    assert [p["reference"] for p in filtered] == ["page-3"]


async def test_no_route_is_422(make_merchant, resources, stack) -> None:
    import httpx

    from tests.fixtures.merchants import SignedClient

    unrouted = await make_merchant()
    client = SignedClient(
        httpx.AsyncClient(base_url=stack.payment.url), unrouted.merchant_id, unrouted.key_id, unrouted.secret
    )
    response = await client.post("/v1/payins", payin_body(10_000, "nr"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_route"
