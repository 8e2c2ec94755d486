"""Webhook deliveries have their own saq queue and worker (issue 19): a callback backlog never
starves them, a delivery left on the main queue by an older release still runs, every enqueuer
reaches the queue a job's reference names, and the queue gauges are per queue.

The workers run in this process on queues in a Redis logical database of their own, so no other
test's leftover jobs reach them and none of theirs reach another test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY, generate_latest
from saq import Queue

from core.events import record_event
from core.ids import new_id
from core.job_refs import DELIVER_WEBHOOK, PROCESS_PROVIDER_CALLBACK, CallbackArgs, DeliveryArgs
from core.jobs_client import JobRef, carry_context, enqueue, queue_for
from core.registry import DiscoveryError, JobSpec, _job_spec, discover_jobs
from core.resources import Resources
from core.storage.redis import QUEUE_NAME, QUEUE_NAMES, WEBHOOK_QUEUE_NAME, open_queues
from core.timeutil import iso, utcnow
from core.worker import Workers, build_worker, measure_queues
from tests.conftest import _claim_redis_db
from tests.fixtures.merchants import new_merchant
from tests.fixtures.stack import eventually
from tests.integration.webhook_receiver import Receiver

BACKLOG = 40
CONCURRENCY = 2  # each queue's worker: far fewer slots than the backlog has jobs


@pytest.fixture
async def private(resources: Resources) -> AsyncIterator[Resources]:
    """The session's resources with every queue in a Redis database of this test's own."""
    url = _claim_redis_db(os.environ["REDIS_URL"].rsplit("/", 1)[0])
    queues: dict[str, Queue] = dict(open_queues(url))
    for queue in queues.values():
        queue.register_before_enqueue(carry_context)
        await queue.connect()
    settings = dataclasses.replace(resources.settings, worker_concurrency=CONCURRENCY, webhook_concurrency=CONCURRENCY)
    try:
        yield dataclasses.replace(resources, settings=settings, queue=queues[QUEUE_NAME], queues=queues)
    finally:
        for queue in queues.values():
            await queue.disconnect()
        redis.Redis.from_url(url).flushdb()  # also drops the claim


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@contextlib.asynccontextmanager
async def running(workers: Workers) -> AsyncIterator[Workers]:
    task = asyncio.create_task(workers.start())
    try:
        yield workers
    finally:
        await workers.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def real(name: str) -> JobSpec:
    return next(s for s in discover_jobs() if s.name == name)


async def new_delivery(res: Resources, receiver: Receiver) -> tuple[dict[str, Any], str]:
    """An event of a merchant whose webhook URL is the receiver; its delivery (attempt 0) is
    enqueued by `record_event` as in production."""
    created = await new_merchant(res, "Queue test merchant", webhook_url=receiver.url)
    payin_id = new_id("pi")
    data = {"id": payin_id, "object": "payin", "status": "succeeded", "amount": 100, "updated_at": iso(utcnow())}
    event = await record_event(
        res, merchant_id=created["merchant"]["id"], type="payin.succeeded", object_id=payin_id, data=data
    )
    delivery = await res.mongo.db.webhook_deliveries.find_one({"event_id": event["_id"]})
    assert delivery is not None
    return event, delivery["_id"]


async def test_a_webhook_is_delivered_while_a_callback_backlog_waits(private: Resources, receiver: Receiver) -> None:
    gate = asyncio.Event()  # callbacks cannot finish until the test opens it
    drained = asyncio.Event()
    started: list[str] = []
    finished: list[str] = []

    async def process_provider_callback(ctx: dict[str, Any], args: CallbackArgs) -> str:
        started.append(args.callback_id)
        await gate.wait()
        finished.append(args.callback_id)
        if len(finished) == BACKLOG:
            drained.set()
        return "held"

    async def delivered() -> bool:
        doc = await private.mongo.db.webhook_deliveries.find_one({"_id": delivery_id})
        return doc is not None and doc["status"] == "delivered"

    held = JobSpec(ref=PROCESS_PROVIDER_CALLBACK, module=__name__, function=process_provider_callback)
    for i in range(BACKLOG):
        args = CallbackArgs(callback_id=f"cb_backlog_{i}")
        await enqueue(private.queue, PROCESS_PROVIDER_CALLBACK, args, key=f"callback:backlog:{i}")
    event, delivery_id = await new_delivery(private, receiver)  # enqueued after the whole backlog
    assert await private.queues[QUEUE_NAME].count("queued") == BACKLOG
    assert await private.queues[WEBHOOK_QUEUE_NAME].count("queued") == 1

    async with running(build_worker(private.queue, private, [held, real("deliver_webhook")])):
        await receiver.wait_for(event["_id"], 1, timeout=30)
        # Delivered while every callback slot is taken and the rest of the backlog still queued.
        assert not finished and len(started) == CONCURRENCY
        assert await private.queues[QUEUE_NAME].count("queued") == BACKLOG - CONCURRENCY
        await eventually(delivered, timeout=30)

        gate.set()  # the backlog drains once callbacks can finish
        await asyncio.wait_for(drained.wait(), timeout=60)
    assert sorted(finished) == sorted(f"cb_backlog_{i}" for i in range(BACKLOG))
    assert len(receiver.for_event(event["_id"])) == 1


async def test_a_delivery_left_on_the_main_queue_by_an_older_release_still_runs(
    private: Resources, receiver: Receiver
) -> None:
    event, delivery_id = await new_delivery(private, receiver)
    webhooks = private.queues[WEBHOOK_QUEUE_NAME]
    queued = await webhooks.job(f"{delivery_id}:0")
    assert queued is not None
    await webhooks.abort(queued, "moved back by the test")
    # As a release before the webhook queue enqueued it: by name on the one queue there was.
    old = await private.queue.enqueue("deliver_webhook", key=f"{delivery_id}:0", delivery_id=delivery_id, attempt=0)
    assert old is not None and old.queue is private.queues[QUEUE_NAME]

    async with running(build_worker(private.queue, private, discover_jobs())):
        await receiver.wait_for(event["_id"], 1, timeout=30)
    doc = await private.mongo.db.webhook_deliveries.find_one({"_id": delivery_id})
    assert doc is not None and doc["status"] == "delivered" and [a["attempt"] for a in doc["attempts"]] == [0]


async def test_enqueue_reaches_the_queue_a_reference_names_from_any_queue(private: Resources) -> None:
    main, webhooks = private.queues[QUEUE_NAME], private.queues[WEBHOOK_QUEUE_NAME]
    assert DELIVER_WEBHOOK.queue == WEBHOOK_QUEUE_NAME and PROCESS_PROVIDER_CALLBACK.queue == QUEUE_NAME
    delivery = await enqueue(main, DELIVER_WEBHOOK, DeliveryArgs(delivery_id="whd_route", attempt=0), key="route:d")
    callback = await enqueue(webhooks, PROCESS_PROVIDER_CALLBACK, CallbackArgs(callback_id="cb_route"), key="route:c")
    assert delivery is not None and delivery.queue is webhooks and await main.job("route:d") is None
    assert callback is not None and callback.queue is main and await webhooks.job("route:c") is None
    assert delivery.meta.get("context") is not None  # the context hook runs on every queue
    assert queue_for(main, DELIVER_WEBHOOK) is webhooks and queue_for(webhooks, DELIVER_WEBHOOK) is webhooks

    lonely = types.SimpleNamespace(name=QUEUE_NAME)  # a queue that knows no other
    with pytest.raises(LookupError, match="gateway-webhooks"):
        queue_for(lonely, DELIVER_WEBHOOK)  # type: ignore[arg-type]


def test_a_job_naming_an_unknown_queue_stops_discovery() -> None:
    module = types.ModuleType("jobs.lost_job")

    async def lost_job(ctx: dict[str, Any], args: CallbackArgs) -> None:
        return None

    module.JOB = JobRef("lost_job", CallbackArgs, queue="nowhere")  # type: ignore[attr-defined]
    module.lost_job = lost_job  # type: ignore[attr-defined]
    with pytest.raises(DiscoveryError, match="nowhere"):
        _job_spec(module)


async def test_each_queue_has_its_own_worker_concurrency_and_gauges(private: Resources) -> None:
    workers = build_worker(private.queue, private, discover_jobs())
    assert [w.queue.name for w in workers.workers] == list(QUEUE_NAMES)
    main, webhooks = workers[QUEUE_NAME], workers[WEBHOOK_QUEUE_NAME]
    assert set(webhooks.functions) == {"deliver_webhook"} and not webhooks.cron_jobs
    assert "deliver_webhook" in main.functions and "process_provider_callback" in main.functions
    private.settings = dataclasses.replace(private.settings, worker_concurrency=3, webhook_concurrency=7)
    workers = build_worker(private.queue, private, discover_jobs())
    assert (workers[QUEUE_NAME].concurrency, workers[WEBHOOK_QUEUE_NAME].concurrency) == (3, 7)

    for i in range(3):
        await enqueue(private.queue, DELIVER_WEBHOOK, DeliveryArgs(delivery_id=f"whd_gauge_{i}", attempt=0))
    measured = await measure_queues(private.queues)
    assert measured[WEBHOOK_QUEUE_NAME]["queued"] == 3 and measured[QUEUE_NAME]["queued"] == 0
    text = generate_latest(REGISTRY).decode()
    assert 'gateway_queue_depth{queue="gateway-webhooks"} 3.0' in text
    assert 'gateway_queue_depth{queue="gateway"} 0.0' in text
