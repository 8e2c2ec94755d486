"""Retries through a real fault-injecting proxy in front of the live gateway: a POST that lost its
answer is sent again with the same Idempotency-Key and creates exactly one object; identical
requests never share a signing second."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from gateway_client import ApiConnectionError, ApiError, AsyncClient

from tests.sdk.conftest import done, every
from tests.sdk.test_sdk_payments import payin_params, payout_params


@pytest.mark.parametrize("fault", ["502_after", "drop_after"])
async def test_a_payin_whose_answer_was_lost_is_created_once(
    fault, make_sdk_merchant, open_client, proxy, edge
) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant, base_url=proxy.url)
    proxy.fail(fault, method="POST")
    payin = await done(client.payins.create(**payin_params(f"sdk-retry-{fault}")))
    posts = proxy.requests("POST", "/v1/payins")
    assert [p.fault for p in posts] == [fault, None]
    assert [p.upstream_status for p in posts] == [201, 201]  # the gateway ran the first; the second is its replay
    keys = {p.headers["idempotency-key"] for p in posts}
    assert len(keys) == 1 and keys != {""}
    assert posts[0].headers["x-timestamp"] != posts[1].headers["x-timestamp"]  # re-signed, in a later second
    assert [p.id for p in await every(client.payins.list())] == [payin.id]
    assert edge.sandbox(f"/__sandbox/payins/{payin.id}")["payins_created"] == 1


async def test_a_payout_whose_connection_dropped_holds_the_money_once(make_sdk_merchant, open_client, proxy, edge):
    merchant = await make_sdk_merchant(funds=50_000)
    client = open_client(merchant, base_url=proxy.url)
    proxy.fail("drop_after", method="POST")
    payout = await done(client.payouts.create(**payout_params("sdk-retry-po")))
    assert [p.upstream_status for p in proxy.requests("POST")] == [201, 201]
    assert [p.id for p in await every(client.payouts.list())] == [payout.id]
    counters = edge.sandbox(f"/__sandbox/payouts/{payout.id}")
    assert counters["payouts_created"] == 1
    balance = await done(client.balance())
    assert balance["INR"].available == 50_000 - 10_500  # amount + fee held (or paid) once
    assert balance["INR"].reserved in (0, 10_500)


async def test_a_retry_while_the_first_attempt_still_runs_waits_for_its_answer(
    make_sdk_merchant, open_client, proxy, edge
) -> None:
    """The connection drops at once; the gateway is still calling a slow PSP when the retry comes,
    answers 409 idempotency_key_in_use, and the next retry gets the first attempt's payin."""
    merchant = await make_sdk_merchant()
    client = open_client(merchant, base_url=proxy.url, max_retries=8)
    # Every sandbox call is slow for a while (the worker's own status queries may come first).
    edge.sandbox("/__sandbox/faults", {"slow_next": 1000, "slow_ms": 2500})
    proxy.fail("drop_early", method="POST")
    try:
        payin = await done(client.payins.create(**payin_params("sdk-retry-in-use")))
    finally:
        edge.sandbox("/__sandbox/faults", {"slow_next": 0, "slow_ms": 0})
    statuses = [p.upstream_status for p in proxy.requests("POST")]
    assert statuses[0] == 201 and 409 in statuses and statuses[-1] == 201
    assert [p.id for p in await every(client.payins.list())] == [payin.id]
    assert edge.sandbox(f"/__sandbox/payins/{payin.id}")["payins_created"] == 1


async def test_429_is_retried_and_exhausted_retries_raise(make_sdk_merchant, open_client, proxy, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    merchant = await make_sdk_merchant()
    client = open_client(merchant, base_url=proxy.url, max_retries=2)
    proxy.fail("429_before", method="GET")
    assert (await done(client.balance())).data == []
    assert [p.fault for p in proxy.requests("GET")] == ["429_before", None]

    proxy.seen.clear()
    proxy.fail("503_before", method="POST", times=3)
    with pytest.raises(ApiError) as gave_up:
        await done(client.payins.create(**payin_params("sdk-never")))
    assert (gave_up.value.status, gave_up.value.code) == (503, "unexpected_response")
    assert len(proxy.requests("POST")) == 3  # the first attempt and max_retries=2 more

    proxy.seen.clear()
    proxy.fail("drop_before", method="POST", times=3)
    with pytest.raises(ApiConnectionError):
        await done(client.payins.create(**payin_params("sdk-never")))
    assert len(proxy.requests("POST")) == 3
    assert await every(client.payins.list()) == []  # nothing reached the gateway: nothing created

    proxy.seen.clear()
    with pytest.raises(ApiError) as not_retried:
        await done(client.payins.create(**{**payin_params("sdk-bad"), "amount": -1}))
    assert not_retried.value.code == "validation_error" and len(proxy.requests("POST")) == 1
    # Retries are logged, without the secret or any signature.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retrying POST /v1/payins after 503 (retry 1 of 2)" in logged
    assert merchant.secret not in logged and not any(s.headers["x-signature"] in logged for s in proxy.seen)


async def test_identical_requests_in_quick_succession_all_succeed(make_sdk_merchant, open_client, proxy) -> None:
    merchant = await make_sdk_merchant()
    client = open_client(merchant, base_url=proxy.url)
    payin = await done(client.payins.create(**payin_params("sdk-poll")))
    proxy.seen.clear()
    for _ in range(3):
        assert (await done(client.payins.get(payin.id))).id == payin.id
    gets = proxy.requests("GET")
    assert [g.upstream_status for g in gets] == [200, 200, 200]
    assert len({g.headers["x-timestamp"] for g in gets}) == 3  # each signed in its own second
    # Without the rule the gateway refuses the repeat: send the last request again, byte for byte.
    last = gets[-1]
    sent = {k: v for k, v in last.headers.items() if k in ("x-api-key", "x-timestamp", "x-signature")}
    replay = httpx.get(proxy.url + last.path, headers=sent)
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, "replayed_request")


async def test_concurrent_identical_requests_of_one_key_get_distinct_seconds(make_sdk_merchant, proxy) -> None:
    merchant = await make_sdk_merchant()
    async with (
        AsyncClient(proxy.url, merchant.key_id, merchant.secret) as one,
        AsyncClient(proxy.url, merchant.key_id, merchant.secret) as two,
    ):
        balances = await asyncio.gather(one.balance(), two.balance(), one.balance(), two.balance())
    assert [b.data for b in balances] == [[], [], [], []]
    stamps = [g.headers["x-timestamp"] for g in proxy.requests("GET")]
    assert len(stamps) == 4 and len(set(stamps)) == 4
