"""Payins, payouts, balance and events through the SDK against the live gateway and sandbox PSP,
with both `Client` and `AsyncClient`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from gateway_client import ApiError, Balance, Event, Payin, Payout

from tests.sdk.conftest import done, every, first


def payin_params(reference: str, amount: int = 10_000) -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "INR",
        "reference": reference,
        "method": "upi",
        "customer": {"name": "Asha", "email": "asha@example.com"},
    }


def payout_params(reference: str, amount: int = 10_000) -> dict[str, Any]:
    beneficiary = {"name": "Ravi", "account_number": "123456789012", "ifsc": "HDFC0001234"}
    return {"amount": amount, "currency": "INR", "reference": reference, "mode": "imps", "beneficiary": beneficiary}


async def settle(client: Any, resource: str, object_id: str, pending: tuple[str, ...], seconds: float = 20) -> Any:
    """Poll `get` through the SDK (identical GETs, back to back) until the status leaves `pending`."""
    async with asyncio.timeout(seconds):
        while True:
            obj = await done(getattr(client, resource).get(object_id))
            if obj.status not in pending:
                return obj
            await asyncio.sleep(0.05)


async def test_a_payin_is_created_read_listed_and_its_event_read(make_sdk_merchant, open_client) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant)
    payin = await done(client.payins.create(**payin_params("sdk-pi-1")))
    assert isinstance(payin, Payin) and payin.object == "payin"
    assert payin.id.startswith("pi_") and payin.status == "pending"
    assert (payin.amount, payin.fee, payin.net_amount) == (10_000, 200, 9_800)
    assert payin.customer.email == "asha@example.com" and payin.instructions is not None
    assert isinstance(payin.created_at, datetime) and payin.created_at.tzinfo is not None
    succeeded = await settle(client, "payins", payin.id, ("pending",))
    assert succeeded.status == "succeeded" and [h.status for h in succeeded.status_history][-1] == "succeeded"
    listed = await every(client.payins.list(reference="sdk-pi-1"))
    assert [p.id for p in listed] == [payin.id] and listed[0].status == "succeeded"
    assert await every(client.payins.list(status="failed")) == []
    balance = await done(client.balance())
    assert isinstance(balance, Balance) and (balance["INR"].available, balance["INR"].reserved) == (9_800, 0)
    events = await every(client.events.list(type="payin.succeeded"))
    assert [e.data.id for e in events] == [payin.id]
    event = await done(client.events.get(events[0].id))
    assert isinstance(event, Event) and event.type == "payin.succeeded"
    assert isinstance(event.data, Payin) and event.data.status == "succeeded" and event.data.amount == 10_000
    # Endpoints without a resource are reached through request(), signed the same way.
    entries = await done(client.request("GET", "/v1/ledger/entries", params={"limit": 5, "kind": "payin_succeeded"}))
    assert [(e["transaction_id"], e["net"]) for e in entries["data"]] == [(payin.id, 9_800)]


async def test_sandbox_outcomes_of_payins_and_payouts(make_sdk_merchant, open_client) -> None:
    merchant = await make_sdk_merchant(funds=100_000)
    client = open_client(merchant)
    failing = await done(client.payins.create(**payin_params("sdk-pi-fail", 10_051)))
    paid = await done(client.payouts.create(**payout_params("sdk-po-ok", 10_000)))
    rejected = await done(client.payouts.create(**payout_params("sdk-po-rejected", 10_052)))
    declined = await done(client.payouts.create(**payout_params("sdk-po-declined", 10_051)))
    assert isinstance(paid, Payout) and paid.status in ("pending", "processing")
    assert paid.beneficiary.account_number == "XXXXXXXX9012" and paid.total_debited == 10_500
    assert (rejected.status, rejected.failure_code) == ("failed", "provider_rejected")
    assert (await settle(client, "payins", failing.id, ("pending",))).status == "failed"
    assert (await settle(client, "payouts", paid.id, ("pending", "processing"))).status == "succeeded"
    assert (await settle(client, "payouts", declined.id, ("pending", "processing"))).status == "failed"
    statuses = {p.reference: p.status for p in await every(client.payouts.list())}
    assert statuses == {"sdk-po-ok": "succeeded", "sdk-po-rejected": "failed", "sdk-po-declined": "failed"}
    # Only the succeeded payout left the balance: 100 000 - (10 000 + 500 fee).
    assert (await done(client.balance()))["INR"].available == 89_500


async def test_list_walks_every_page_lazily(make_sdk_merchant, open_client, proxy) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant, base_url=proxy.url)
    created = [(await done(client.payins.create(**payin_params(f"sdk-page-{n}", 10_052)))).id for n in range(5)]
    proxy.seen.clear()
    listed = await every(client.payins.list(limit=2))
    assert [p.id for p in listed] == created[::-1]  # newest first, each exactly once
    pages = proxy.requests("GET", "/v1/payins")
    assert [r.query.get("starting_after") for r in pages] == [None, [created[3]], [created[1]]]
    assert all(r.query["limit"] == ["2"] for r in pages)
    proxy.seen.clear()
    assert (await first(client.payins.list(limit=2))).id == created[4]
    assert len(proxy.requests("GET")) == 1  # one page fetched for one item


async def test_error_answers_raise_api_error_with_the_gateways_fields(make_sdk_merchant, open_client) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant)
    with pytest.raises(ApiError) as invalid:
        await done(client.payins.create(**{**payin_params("sdk-bad"), "customer": {"name": "A", "email": "nope"}}))
    assert (invalid.value.status, invalid.value.code, invalid.value.param) == (
        422,
        "validation_error",
        "customer.email",
    )
    assert invalid.value.request_id and invalid.value.message
    with pytest.raises(ApiError) as unknown_field:
        await done(client.payins.create(**payin_params("sdk-bad-2"), colour="red"))
    assert (unknown_field.value.code, unknown_field.value.param) == ("validation_error", "colour")
    with pytest.raises(ApiError) as missing:
        await done(client.payouts.get("po_does_not_exist"))
    assert (missing.value.status, missing.value.code, missing.value.param) == (404, "not_found", None)
    first_payin = await done(client.payins.create(**payin_params("sdk-dup")))
    with pytest.raises(ApiError) as duplicate:
        await done(client.payins.create(**payin_params("sdk-dup")))
    assert (duplicate.value.status, duplicate.value.code) == (409, "duplicate_reference")
    assert duplicate.value.body["existing_id"] == first_payin.id
    with pytest.raises(ApiError) as broke:
        await done(client.payouts.create(**payout_params("sdk-po-broke")))
    assert (broke.value.status, broke.value.code) == (422, "insufficient_funds")
    assert await every(client.payouts.list()) == []


async def test_an_explicit_idempotency_key_answers_the_same_object(make_sdk_merchant, open_client) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant)
    once = await done(client.payins.create(idempotency_key="order-77", **payin_params("sdk-idem")))
    again = await done(client.payins.create(idempotency_key="order-77", **payin_params("sdk-idem")))
    assert again.id == once.id
    with pytest.raises(ApiError) as reused:
        await done(client.payins.create(idempotency_key="order-77", **payin_params("sdk-idem-other")))
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
    assert [p.id for p in await every(client.payins.list())] == [once.id]
