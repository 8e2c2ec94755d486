"""What one payin and one payout request cost in round trips, counted from their traces (issue 18).

The payment role runs in-process with MongoDB, PostgreSQL and Redis instrumented; each request's
spans are grouped by store and operation. The kernel's promises are checked, not timings: the
transaction document is written at most twice in the request (insert, then the provider's answer),
and the route (with the merchant's fee plans and the PLE) is read once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core import ledger
from core.http.app import create_app
from core.http.inprocess import in_process_client
from core.ids import new_id
from tests.fixtures.merchants import SignedClient
from tests.fixtures.tracing import store_calls

pytestmark = pytest.mark.usefixtures("stack")


def request_trace(found: list[ReadableSpan], path: str) -> int:
    servers = [s for s in found if s.kind.name == "SERVER" and path in s.name]
    assert servers, sorted({s.name for s in found})
    return servers[-1].context.trace_id


async def measure(spans: InMemorySpanExporter, client: SignedClient, path: str, body: dict[str, Any]) -> Counter[str]:
    spans.clear()
    response = await client.post(path, body)
    assert response.status_code == 201, response.text
    found = list(spans.get_finished_spans())
    return store_calls(found, request_trace(found, path))


async def test_a_payin_and_a_payout_write_their_document_twice_and_read_the_route_once(
    spans, settings, resources, routed_merchant, stack
) -> None:
    routed = await routed_merchant()  # merchant routed to the stack's sandbox PLE
    await ledger.adjust_merchant_balance(
        resources.db, routed.merchant_id, "INR", 1_000_000, new_id("fund"), "test funding"
    )
    async with in_process_client(create_app("payment", settings)) as http:
        m = SignedClient(http, routed.merchant_id, routed.key_id, routed.secret)
        customer = {"name": "Asha", "email": "asha@example.com"}
        payin = {"amount": 10_000, "currency": "INR", "method": "upi", "customer": customer}
        await m.post("/v1/payins", {**payin, "reference": new_id("warm")})  # the key's first use fills caches
        payin_calls = await measure(spans, m, "/v1/payins", {**payin, "reference": new_id("rt")})
        beneficiary = {"name": "Ravi", "account_number": "123456789012", "ifsc": "HDFC0001234"}
        payout = {"amount": 10_000, "currency": "INR", "mode": "imps", "beneficiary": beneficiary}
        payout_calls = await measure(spans, m, "/v1/payouts", {**payout, "reference": new_id("rt")})
    print("payin round trips:", dict(payin_calls))
    print("payout round trips:", dict(payout_calls))
    payin_writes = sum(n for k, n in payin_calls.items() if k.startswith("mongo:payins.") and not k.endswith(".find"))
    payout_writes = sum(
        n for k, n in payout_calls.items() if k.startswith("mongo:payouts.") and not k.endswith(".find")
    )
    assert payin_writes == 2 and payout_writes == 2, (payin_calls, payout_calls)
    assert payin_calls["mongo:payins.find"] == 0  # nothing re-reads what it holds
    assert payout_calls["mongo:payouts.find"] == 1  # the duplicate-reference check, before the hold
    # a connection going back to the pool costs no round trip (core/storage/postgres.py _keep_session)
    assert payin_calls["postgres:reset"] == 0 and payout_calls["postgres:reset"] == 0, (payin_calls, payout_calls)
