"""Observability (ARCHITECTURE §9, issue 10): JSON log lines with shared context, redaction
(exceptions included) and one linked trace from payin creation to webhook delivery. The metrics
of every role: test_observability_metrics.py.

The trace test runs first and in-process (an in-memory span exporter sees only this process);
no worker is running then, so it runs the jobs itself from their queued kwargs. The later tests
use the real `stack` processes and read their log files.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from saq import Job

from core.config import Settings
from core.http.app import create_app
from core.http.inprocess import in_process_client
from core.jobs_client import CONTEXT_META, JobRef, NoArgs
from core.local_services import free_port
from core.observability.logging import configure_logging
from core.registry import JobSpec, discover_functions, discover_jobs
from core.resources import Resources
from core.routing import create_ple, route_everything_to
from core.sandbox.signing import SIGNATURE_HEADER, sign_body
from core.worker import instrument
from tests.conftest import IN_PROCESS_LOG
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES, eventually
from tests.integration.webhook_receiver import Receiver

HEX_SIG = re.compile(r"\b[0-9a-f]{64}\b")
LONG_DIGITS = re.compile(r"(?<![\w.])\d{9,19}(?![\w.])")
SAMPLE_ACCOUNT = "123456789012"


def _body(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "amount": 10_000,
        "currency": "INR",
        "reference": reference,
        "method": "upi",
        "customer": {"name": "Asha Rao", "email": "asha@example.com"},
        **extra,
    }


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line must be one JSON object."""
    lines = []
    for raw in text.splitlines():
        if raw.strip():
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise AssertionError(f"not a JSON log line: {raw[:300]!r}") from None
            assert isinstance(parsed, dict), raw[:300]
            lines.append(parsed)
    return lines


def _assert_clean(text: str, forbidden: list[str]) -> None:
    for value in forbidden:
        assert value not in text, f"{value[:10]}... leaked into the logs"
    assert not HEX_SIG.search(text), HEX_SIG.search(text)
    assert SAMPLE_ACCOUNT not in text


class _Capture(io.StringIO):
    """Log lines kept here and appended to the session's in-process log (the secret scan reads it)."""

    def write(self, text: str) -> int:
        with IN_PROCESS_LOG.open("a") as file:
            file.write(text)
        return super().write(text)


@contextlib.contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """The serving roles' logging configuration, writing here; the previous one restored after
    (CLI tests of the session reconfigure logging to stderr)."""
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level, bound = root.handlers, root.level, structlog.contextvars.get_contextvars()
    capture = _Capture()
    configure_logging("test", "INFO", stream=capture)  # type: ignore[arg-type]
    try:
        yield capture
    finally:
        structlog.configure(**saved)
        root.handlers, root.level = handlers, level
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**bound)


async def _run_queued(resources: Resources, key: str) -> Any:
    """Run one queued job here, as the worker would, then take it off its queue."""
    found = [(q, job) for q in resources.queues.values() if (job := await q.job(key)) is not None]
    assert found, f"no queued job {key}"
    ((queue, job),) = found
    spec = next(s for s in discover_jobs() if s.name == job.function)
    result = await instrument(spec)({"resources": resources, "job": job}, **job.kwargs)
    await queue.abort(job, "run in-process by test_observability")
    return result


def _trace_of(found: list[ReadableSpan], name: str) -> ReadableSpan:
    matching = [s for s in found if s.name == name]
    assert matching, f"no span {name!r}; spans: {sorted({s.name for s in found})}"
    return matching[-1]


def _descendants(found: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    ids, out, grew = {root.context.span_id}, [], True
    while grew:
        grew = False
        for s in found:
            if s.parent is not None and s.parent.span_id in ids and s.context.span_id not in ids:
                ids.add(s.context.span_id)
                out.append(s)
                grew = True
    return out


async def test_payin_create_callback_ledger_and_webhook_are_one_linked_trace(
    spans: InMemorySpanExporter, resources: Resources, settings: Settings
) -> None:
    sandbox_secret = "obs-sandbox-" + secrets.token_hex(8)
    port = free_port()
    # The sandbox pays nothing within this test (60 s delay): the test delivers the callback itself.
    sandbox = RoleProcess(
        [
            "sandbox",
            *("--port", str(port), "--secret", sandbox_secret, "--delay-seconds", "60"),
            *("--callback-url", f"http://127.0.0.1:{free_port()}/v1/callbacks/sandbox"),
        ],
        port,
        {"SANDBOX_SECRET": sandbox_secret},
        "sandbox-obs",
    )
    receiver = Receiver()
    await receiver.start()
    logs = contextlib.ExitStack()
    captured = logs.enter_context(captured_logs())
    try:
        sandbox.wait_live("/__sandbox/health")
        ple = await create_ple(
            resources,
            provider="sandbox",
            name="Sandbox PLE (observability)",
            currency="INR",
            base_url=sandbox.url,
            secret=sandbox_secret,
            fee_schedule=PROVIDER_FEES,
            actor="test",
        )
        created = await new_merchant(resources, "Traced merchant", fee_plans=MERCHANT_FEES, webhook_url=receiver.url)
        merchant_id = created["merchant"]["id"]
        await route_everything_to(resources, merchant_id, ple["id"], actor="test")
        spans.clear()
        # A fresh app: its MongoDB client is created after the instrumentation.
        async with in_process_client(create_app("payment", settings)) as client:
            m = SignedClient(client, merchant_id, created["key_id"], created["secret"], created["webhook_secret"])
            response = await m.post("/v1/payins", _body("ok-obs-trace"))
            assert response.status_code == 201, response.text
            payin = response.json()
            request_id = response.headers["x-request-id"]
            body = orjson.dumps(
                {
                    "object": "payin",
                    "event_id": f"evt_obs_{secrets.token_hex(6)}",
                    "object_id": payin["id"],
                    "status": "paid",
                    "amount": payin["amount"],
                    "currency": payin["currency"],
                }
            )
            answer = await client.post(
                "/v1/callbacks/sandbox",
                content=body,
                headers={"content-type": "application/json", SIGNATURE_HEADER: sign_body(sandbox_secret, body)},
            )
            assert answer.status_code == 200, answer.text
        callback = await resources.mongo.db.provider_callbacks.find_one({"object_id": payin["id"]})
        assert await _run_queued(resources, f"callback:{callback['_id']}") == "applied: succeeded"
        delivery = await resources.mongo.db.webhook_deliveries.find_one({"merchant_id": merchant_id})
        await _run_queued(resources, f"{delivery['_id']}:0")
        assert receiver.requests, "the webhook was not delivered"
        await _run_queued(resources, f"expire:{payin['id']}")
    finally:
        logs.close()
        await receiver.stop()
        sandbox.stop()

    found = list(spans.get_finished_spans())
    create = _trace_of(found, "POST /v1/payins")
    origin = create.context.trace_id
    in_create = _descendants(found, create)
    assert any(s.name == "provider create_payin" for s in in_create), [s.name for s in in_create]
    assert any(s.attributes.get("db.system") == "mongodb" for s in in_create)
    assert any(s.attributes.get("db.system") == "redis" for s in in_create)  # the expiry job enqueued

    expire = _trace_of(found, "job expire_payin")
    assert expire.context.trace_id == origin, "the enqueued job is not in its enqueuer's trace"

    received = next(s for s in found if s.name.startswith("POST /v1/callbacks/"))
    assert received.name == "POST /v1/callbacks/{provider:str}" or "{provider" in received.name
    process = _trace_of(found, "job process_provider_callback")
    assert process.context.trace_id == received.context.trace_id
    assert any(link.context.trace_id == origin for link in process.links), "callback not linked to the creation"
    in_process = _descendants(found, process)
    ledger = [s for s in in_process if s.attributes.get("db.system") == "postgresql"]
    assert ledger, "no PostgreSQL span (the ledger credit) under the callback job"
    assert any("INSERT" in str(s.attributes.get("db.statement", "")) or "INSERT" in s.name for s in ledger)
    deliver = _trace_of(found, "job deliver_webhook")
    assert deliver in in_process or deliver.context.trace_id == process.context.trace_id
    assert any(
        s.kind == trace.SpanKind.CLIENT
        and s.attributes.get("http.request.method", s.attributes.get("http.method")) == "POST"
        for s in _descendants(found, deliver)
    )

    for s in found:  # span names are bounded: route templates and job names, never ids
        assert payin["id"] not in s.name and merchant_id not in s.name, s.name
        assert s.resource.attributes.get("service.name")

    # The request's log lines and the job's it caused share request_id and trace_id.
    lines = _json_lines(captured.getvalue())
    of_request = [x for x in lines if x.get("request_id") == request_id]
    assert of_request and {x["trace_id"] for x in of_request} == {format(origin, "032x")}
    expiry_lines = [x for x in lines if x.get("job") == "expire_payin" and x.get("payin_id") == payin["id"]]
    assert expiry_lines, "the expiry job logged nothing"
    assert {(x["request_id"], x["trace_id"]) for x in expiry_lines} == {(request_id, format(origin, "032x"))}
    assert all(x.get("span_id") for x in expiry_lines)
    _assert_clean(captured.getvalue(), [created["secret"], created["webhook_secret"], sandbox_secret])


def _secret_text(merchant_secret: str) -> str:
    signature = sign_body("k", b"body")
    return (
        f"declined for secret={merchant_secret} account {SAMPLE_ACCOUNT} "
        f"Authorization: Bearer {merchant_secret} X-Webhook-Signature: t=1,v1={signature} raw {signature}"
    )


async def test_exceptions_in_a_request_and_a_job_are_redacted(tmp_path: Path, settings: Settings, resources) -> None:
    merchant_secret = "sk_" + secrets.token_urlsafe(32)
    package = tmp_path / "obs_boom_functions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "boom.py").write_text(
        '"""GET /boom: raises."""\n'
        "from litestar import get\n\n"
        'ROLE = "api"\n'
        'TEXT = ""\n\n\n'
        '@get("/boom", sync_to_thread=False)\n'
        "def boom() -> None:\n"
        "    raise RuntimeError(TEXT)\n"
    )
    sys.path.insert(0, str(tmp_path))
    logs = contextlib.ExitStack()
    captured = logs.enter_context(captured_logs())
    try:
        discover_functions("obs_boom_functions")
        sys.modules["obs_boom_functions.boom"].TEXT = _secret_text(merchant_secret)  # type: ignore[attr-defined]
        async with in_process_client(create_app("api", settings, functions_package="obs_boom_functions")) as client:
            response = await client.get("/boom")
        assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
        request_id = response.headers["x-request-id"]
    finally:
        sys.path.remove(str(tmp_path))

    async def explode(ctx: dict[str, Any], args: NoArgs) -> None:
        raise ValueError(_secret_text(merchant_secret))

    spec = JobSpec(ref=JobRef("explode", NoArgs, timeout=5, retries=0), module="tests", function=explode)
    job = Job(function="explode", meta={CONTEXT_META: {"request_id": "req_obsjob"}})
    with logs, pytest.raises(ValueError):
        await instrument(spec)({"resources": resources, "job": job})

    text = captured.getvalue()
    lines = _json_lines(text)
    failed_request = [x for x in lines if x.get("request_id") == request_id and x.get("event") == "unhandled error"]
    failed_job = [x for x in lines if x.get("job") == "explode" and x.get("event") == "job failed"]
    for found in (failed_request, failed_job):
        assert found, "the failure was not logged"
        rendered = orjson.dumps(found).decode()
        assert "Traceback" in rendered and "********9012" in rendered and "[redacted" in rendered
    _assert_clean(text, [merchant_secret])


async def test_stack_logs_of_a_payin_are_json_with_shared_context(routed_merchant, resources, stack) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        m = await routed_merchant("payment", webhook_url=receiver.url)
        response = await m.post("/v1/payins", _body("ok-obs-stack", expires_in_minutes=2))
        assert response.status_code == 201, response.text
        payin = response.json()
        request_id = response.headers["x-request-id"]

        async def finished() -> bool:
            doc = await resources.mongo.db.payins.find_one({"_id": payin["id"]})
            delivered = await resources.mongo.db.webhook_deliveries.find_one(
                {"merchant_id": m.merchant_id, "status": "delivered"}
            )
            expired_run = any(
                x.get("job") == "expire_payin" and x.get("payin_id") == payin["id"] and x.get("event") == "job done"
                for x in _json_lines(stack.worker.output())
            )
            return doc["status"] == "succeeded" and delivered is not None and expired_run

        await eventually(finished, timeout=20)
    finally:
        await receiver.stop()

    payment_lines = _json_lines(stack.payment.output())
    worker_lines = _json_lines(stack.worker.output())
    for x in payment_lines + worker_lines:
        assert {"role", "request_id", "trace_id", "span_id", "level", "ts", "event"} <= x.keys(), x
    created = [x for x in payment_lines if x.get("request_id") == request_id]
    assert created and {x["role"] for x in created} == {"payment"}
    trace_ids = {x["trace_id"] for x in created}
    assert len(trace_ids) == 1 and None not in trace_ids
    assert any(x.get("merchant_id") == m.merchant_id and x.get("payin_id") == payin["id"] for x in created)
    caused = [x for x in worker_lines if x.get("payin_id") == payin["id"] and x.get("job") == "expire_payin"]
    assert caused and {(x["request_id"], x["trace_id"]) for x in caused} == {(request_id, trace_ids.pop())}
    # The callback's job and the webhook delivery it caused share the callback request's context.
    processed = [
        x for x in worker_lines if x.get("job") == "process_provider_callback" and x.get("payin_id") == payin["id"]
    ]
    assert processed and all(x["request_id"] and x["trace_id"] for x in processed)
    delivered = [
        x
        for x in worker_lines
        if x.get("job") == "deliver_webhook" and x.get("request_id") == processed[0]["request_id"]
    ]
    assert delivered and {x["trace_id"] for x in delivered} == {processed[0]["trace_id"]}
    everything = stack.payment.output() + stack.worker.output() + stack.api.output()
    _assert_clean(everything, [m.secret, m.webhook_secret])
    signature = receiver.requests[0].headers["x-webhook-signature"]
    assert len(signature) > 20 and signature not in everything
    assert signature.rsplit("=", 1)[-1] not in everything
