"""Observability (ARCHITECTURE §9, issue 10): JSON log lines with shared context, redaction
(exceptions included), one linked trace from payin creation to webhook delivery, and `/metrics`
of every role with the documented series and bounded labels.

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
from prometheus_client.parser import text_string_to_metric_families
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
from core.storage.redis import QUEUE_NAMES
from core.worker import instrument
from tests.conftest import IN_PROCESS_LOG
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES, eventually
from tests.integration.webhook_receiver import Receiver

ID_VALUE = re.compile(r"^[a-z]{1,6}_[0-9A-Za-z]{10,}$")  # our ids: pi_…, mer_…, req_…
JOB_NAMES = {p.stem for p in (Path(__file__).parents[2] / "jobs").glob("*.py")} - {"__init__"}
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


FUNCTIONS = {s.name for s in discover_functions()} | {"unmatched"}
JOBS = {s.name for s in discover_jobs()}
# Metrics whose `kind` is the transaction kind, not the provider error kind.
TRANSACTION_KIND_METRICS = {"gateway_transactions_needing_review", "gateway_provider_amount_mismatches"}
ALLOWED = {
    "function": FUNCTIONS,
    "method": {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"},
    "status": {"pending", "processing", "succeeded", "failed", "expired", "reversed"},
    "outcome": {"success", "failure", "settled", "skipped"},
    "job": JOBS,
    "result": {"delivered", "attempt_failed", "failed", "skipped"},
    "kind": {"timeout", "connect", "http_5xx", "http_4xx"},
    "provider": {"sandbox"},
    "operation": {
        "create_payin",
        "payin_status",
        "create_payout",
        "payout_status",
        "create_refund",
        "refund_status",
        "statement",
    },
    "queue": set(QUEUE_NAMES),
    "method_payin": {"upi", "bank_transfer", "card"},
    "ledger_kind": {
        "payin_succeeded",
        "payout_hold",
        "payout_succeeded",
        "payout_failed",
        "payout_reversed",
        "provider_fee_accrued",
        "provider_fees_settled",
        "manual_adjustment",
    },
}
# docs/metrics.md: metric -> its label names (the job metrics' `job` is renamed job_name by Alloy).
DOCUMENTED = {
    "gateway_http_requests": {"function", "method", "status_code"},
    "gateway_http_request_duration_seconds": {"function", "method"},
    "gateway_http_errors": {"function", "code"},
    "gateway_payins": {"status", "method", "provider"},
    "gateway_payouts": {"status", "mode", "provider"},
    "gateway_provider_call_duration_seconds": {"provider", "operation"},
    "gateway_provider_call_errors": {"provider", "operation", "kind"},
    "gateway_job_runs": {"job", "outcome"},
    "gateway_job_duration_seconds": {"job"},
    "gateway_queue_depth": {"queue"},
    "gateway_queue_oldest_job_age_seconds": {"queue"},
    "gateway_webhook_deliveries": {"result"},
    "gateway_payouts_needing_review": set(),
    "gateway_transactions_needing_review": {"kind"},
    "gateway_provider_amount_mismatches": {"kind", "provider"},
    "gateway_provider_callbacks_rejected": {"provider", "reason"},
    "gateway_refunds": {"status", "provider"},
    "gateway_reconciliation_mismatches": set(),
    "gateway_reconciliation_breaks": {"severity"},
    "gateway_ledger_postings": {"kind"},
    "gateway_payin_expiry_lag_seconds": set(),
    "gateway_settlements": {"outcome"},
}
EXPECTED_AFTER_PAYIN = {
    "payment": {
        "gateway_http_requests",
        "gateway_http_request_duration_seconds",
        "gateway_payins",
        "gateway_provider_call_duration_seconds",
    },
    "api": {"gateway_http_requests", "gateway_http_request_duration_seconds", "gateway_http_errors"},
    "worker": {
        "gateway_http_requests",
        "gateway_job_runs",
        "gateway_job_duration_seconds",
        "gateway_queue_depth",
        "gateway_queue_oldest_job_age_seconds",
        "gateway_payins",
        "gateway_ledger_postings",
        "gateway_webhook_deliveries",
        "gateway_reconciliation_breaks",
    },
}


def _check_labels(metric: str, labels: dict[str, str]) -> None:
    base = re.sub(r"_(bucket|sum|count|total|created)$", "", metric)
    names = set(labels) - {"le"}
    assert names == DOCUMENTED[base], f"{metric}: labels {sorted(names)} are not the documented ones"
    for name, value in labels.items():
        if name == "job":  # bounded by the jobs/ modules (`sweep_transactions` is shaped like an id)
            assert value in JOB_NAMES, f"{metric}{{job={value!r}}} is not a job"
            continue
        assert not ID_VALUE.match(value) and "/" not in value, f"{metric}{{{name}={value!r}}} is unbounded"
        if name == "status_code":
            assert re.fullmatch(r"[1-5]\d\d", value), (metric, value)
        elif name == "kind" and base == "gateway_ledger_postings":
            assert value in ALLOWED["ledger_kind"], (metric, value)
        elif name == "kind" and base in TRANSACTION_KIND_METRICS:
            assert value in {"payin", "payout", "refund"}, (metric, value)
        elif name == "method":
            allowed = ALLOWED["method_payin"] if base == "gateway_payins" else ALLOWED["method"]
            assert value in allowed, (metric, value)
        elif name in ALLOWED:
            assert value in ALLOWED[name], f"{metric}{{{name}={value!r}}} not in {sorted(ALLOWED[name])}"


async def test_metrics_of_every_role_have_documented_series_with_bounded_labels(
    routed_merchant, stack, clients
) -> None:
    api_merchant = await routed_merchant("api")
    assert (await api_merchant.get("/v1/payins/pi_doesnotexist000000000000")).status_code == 404
    assert (await api_merchant.get("/v1/nothing/here/123456")).status_code == 404
    m = await routed_merchant("payment")
    assert (await m.post("/v1/payins", _body("ok-obs-metrics"))).status_code == 201
    urls = {"payment": stack.payment.url, "api": stack.api.url, "worker": stack.worker.url}

    async def scrape(role: str) -> dict[str, list[tuple[str, dict[str, str]]]]:
        text = (await stack.http.get(f"{urls[role]}/metrics")).text
        out: dict[str, list[tuple[str, dict[str, str]]]] = {}
        for family in text_string_to_metric_families(text):
            if family.name.startswith("gateway_"):
                out.setdefault(family.name, []).extend((s.name, s.labels) for s in family.samples)
        return out

    async def worker_ready() -> bool:
        return EXPECTED_AFTER_PAYIN["worker"] <= set(await scrape("worker"))

    await eventually(worker_ready, timeout=20)
    for role in ("payment", "api", "worker"):
        families = await scrape(role)
        missing = EXPECTED_AFTER_PAYIN[role] - set(families)
        assert not missing, f"{role} /metrics lacks {sorted(missing)}"
        assert set(families) <= set(DOCUMENTED), f"undocumented: {sorted(set(families) - set(DOCUMENTED))}"
        for samples in families.values():
            for name, labels in samples:
                _check_labels(name, labels)
        raw = (await stack.http.get(f"{urls[role]}/metrics")).text
        assert "otel_scope_name" not in raw and "target_info" not in raw
    unmatched = [
        labels for name, labels in (await scrape("api"))["gateway_http_requests"] if labels["function"] == "unmatched"
    ]
    assert unmatched, "an unmatched route is not counted as function=unmatched"
    frontend = await clients["frontend"].get("/metrics")
    assert frontend.status_code == 200 and "gateway_http_requests_total" in frontend.text
