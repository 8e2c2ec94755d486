"""What one provider callback costs the worker in round trips, counted from its job's trace
(issue 19): the spans under `job process_provider_callback`, grouped by store and operation.

The sandbox pays nothing by itself here (60 s delay): the test posts the callback to an
in-process payment app and runs the queued job in this process, as the worker would.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.config import Settings
from core.http.app import create_app
from core.http.inprocess import in_process_client
from core.local_services import free_port
from core.registry import discover_jobs
from core.resources import Resources, open_resources
from core.routing import create_ple, route_everything_to
from core.sandbox.signing import SIGNATURE_HEADER, sign_body
from core.worker import instrument
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES
from tests.fixtures.tracing import store_calls
from tests.integration.webhook_receiver import Receiver


def under(found: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    ids, out, grew = {root.context.span_id}, [], True
    while grew:
        grew = False
        for s in found:
            if s.parent is not None and s.parent.span_id in ids and s.context.span_id not in ids:
                ids.add(s.context.span_id)
                out.append(s)
                grew = True
    return out


async def run_queued(resources: Resources, key: str) -> Any:
    found = [(q, job) for q in resources.queues.values() if (job := await q.job(key)) is not None]
    ((queue, job),) = found
    spec = next(s for s in discover_jobs() if s.name == job.function)
    result = await instrument(spec)({"resources": resources, "job": job}, **job.kwargs)
    await queue.abort(job, "run in-process by test_callback_round_trips")
    return result


async def test_one_callback_job_costs_a_bounded_number_of_round_trips(
    spans: InMemorySpanExporter, resources: Resources, settings: Settings
) -> None:
    sandbox_secret = "rt-sandbox-" + secrets.token_hex(8)
    port = free_port()
    sandbox = RoleProcess(
        [
            "sandbox",
            *("--port", str(port), "--secret", sandbox_secret, "--delay-seconds", "60"),
            *("--callback-url", f"http://127.0.0.1:{free_port()}/v1/callbacks/sandbox"),
        ],
        port,
        {"SANDBOX_SECRET": sandbox_secret},
        "sandbox-rt",
    )
    receiver = Receiver()
    await receiver.start()
    try:
        sandbox.wait_live("/__sandbox/health")
        ple = await create_ple(
            resources,
            provider="sandbox",
            name="Sandbox PLE (callback round trips)",
            currency="INR",
            base_url=sandbox.url,
            secret=sandbox_secret,
            fee_schedule=PROVIDER_FEES,
            actor="test",
        )
        created = await new_merchant(
            resources, "Callback RT merchant", fee_plans=MERCHANT_FEES, webhook_url=receiver.url
        )
        merchant_id = created["merchant"]["id"]
        await route_everything_to(resources, merchant_id, ple["id"], actor="test")
        # Clients created after the `spans` fixture are traced: the job runs on these.
        async with open_resources(settings) as traced, in_process_client(create_app("payment", settings)) as client:
            m = SignedClient(client, merchant_id, created["key_id"], created["secret"], created["webhook_secret"])
            costs = []
            for _ in range(2):  # the first callback of the process fills its caches
                body = {
                    "amount": 10_000,
                    "currency": "INR",
                    "reference": f"rt-callback-{secrets.token_hex(4)}",
                    "method": "upi",
                    "customer": {"name": "Asha Rao", "email": "asha@example.com"},
                }
                response = await m.post("/v1/payins", body)
                assert response.status_code == 201, response.text
                payin = response.json()
                callback = orjson.dumps(
                    {
                        "object": "payin",
                        "event_id": f"evt_rt_{secrets.token_hex(6)}",
                        "object_id": payin["id"],
                        "status": "paid",
                        "amount": payin["amount"],
                        "currency": payin["currency"],
                    }
                )
                answer = await client.post(
                    "/v1/callbacks/sandbox",
                    content=callback,
                    headers={"content-type": "application/json", SIGNATURE_HEADER: sign_body(sandbox_secret, callback)},
                )
                assert answer.status_code == 200, answer.text
                stored = await resources.mongo.db.provider_callbacks.find_one({"object_id": payin["id"]})
                spans.clear()
                assert await run_queued(traced, f"callback:{stored['_id']}") == "applied: succeeded"
                found = list(spans.get_finished_spans())
                job = next(s for s in found if s.name == "job process_provider_callback")
                costs.append(store_calls(under(found, job)))
    finally:
        await receiver.stop()
        sandbox.stop()
    warm = costs[-1]
    print("callback job round trips:", dict(sorted(warm.items())), "total", sum(warm.values()))
    # Measured 2026-11-30: Mongo 12, PostgreSQL 16 (two ledger postings, the ledger check of the
    # drain, the merchant's webhook URL), Redis 1 (the delivery's enqueue) + 2 for tracing links.
    # The callback is read and marked once; the payin read once and written twice (the status
    # change, then the drained outbox).
    assert warm["mongo:provider_callbacks.find"] == 1 and warm["mongo:provider_callbacks.update"] == 1
    assert warm["mongo:payins.find"] <= 1 and warm["mongo:payins.update"] <= 2
    mongo = sum(n for k, n in warm.items() if k.startswith("mongo:"))
    postgres = sum(n for k, n in warm.items() if k.startswith("postgres:"))
    assert mongo <= 12 and postgres <= 16, dict(warm)
