"""Spans are recorded and exported only where something reads them (core/observability/tracing.py):
with OTEL_EXPORTER_OTLP_ENDPOINT set, a role sends its server and client spans over OTLP/HTTP; with
none, spans are dropped at birth but keep the ids that log lines and jobs carry (issue 19)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto

from core.local_services import free_port
from core.observability.tracing import build_tracer_provider


class _Collector(BaseHTTPRequestHandler):
    received: list[ExportTraceServiceRequest] = []
    paths: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.paths.append(self.path)
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.received.append(request)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest], list[str]]]:
    received: list[ExportTraceServiceRequest] = []
    paths: list[str] = []
    handler = type("Collector", (_Collector,), {"received": received, "paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received, paths
    server.shutdown()


def _spans(received: list[ExportTraceServiceRequest]) -> list[SpanProto]:
    return [s for r in received for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def test_a_role_with_an_endpoint_exports_server_and_client_spans(start_role, collector, monkeypatch) -> None:
    url, received, paths = collector
    # The role inherits this process's environment: nothing inherited may send its spans elsewhere
    # (a traces-specific endpoint, an exporter choice, a proxy). In the full suite it once did not
    # post at all while the same test alone passed.
    for name in list(os.environ):
        if name.startswith("OTEL_") or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    role = start_role(
        "payment",
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": url,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/v1/traces",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    deadline, asked = time.monotonic() + 45, 0.0
    while time.monotonic() < deadline and not any(s.name == "GET /health/ready" for s in _spans(received)):
        if time.monotonic() - asked > 3:  # again now and then: a busy machine may delay a batch
            assert httpx.get(role.url + "/health/ready", timeout=10).status_code == 200
            asked = time.monotonic()
        time.sleep(0.1)
    spans = _spans(received)
    server = [s for s in spans if s.name == "GET /health/ready"]
    assert server, (
        f"no server span exported; got {sorted({s.name for s in spans})}, posts to"
        f" {paths or 'nowhere'}; role output: {role.output()[-3000:]}"
    )
    children = [s for s in spans if s.parent_span_id == server[0].span_id]
    # the readiness check asks PostgreSQL, Redis and MongoDB: the libraries are instrumented
    assert any(s.kind == SpanProto.SPAN_KIND_CLIENT for s in children), sorted(s.name for s in children)


def test_without_an_endpoint_spans_are_not_recorded_but_keep_their_ids() -> None:
    provider = build_tracer_provider("test", "gateway", "test", recording=False)
    span = provider.get_tracer("test").start_span("request")
    assert not span.is_recording()
    context = span.get_span_context()
    assert context.is_valid and context.trace_id and context.span_id
    recording = build_tracer_provider("test", "gateway", "test").get_tracer("test").start_span("request")
    assert recording.is_recording()


async def test_without_recording_each_request_still_gets_ids_and_keeps_the_callers_trace() -> None:
    """`TraceIds` (core/observability/tracing.py) stands in for the OpenTelemetry middleware when
    nothing records spans: the ids log lines and jobs carry, continuing a caller's `traceparent`."""
    import structlog
    from opentelemetry import trace

    from core.observability.tracing import TraceIds, current_traceparent

    seen: list[tuple[str | None, dict[str, object]]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append((current_traceparent(), structlog.contextvars.get_contextvars()))
        assert not trace.get_current_span().is_recording()

    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    wrapped = TraceIds(app)
    await wrapped({"type": "http", "headers": [(b"traceparent", caller.encode())]}, None, None)
    await wrapped({"type": "http", "headers": [(b"traceparent", b"garbage")]}, None, None)
    await wrapped({"type": "http", "headers": []}, None, None)
    (carried, bound), (own1, _), (own2, _) = seen
    assert carried is not None and carried.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert carried.split("-")[2] != "00f067aa0ba902b7"  # a span of its own inside the caller's trace
    assert bound["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and bound["span_id"] == carried.split("-")[2]
    assert own1 and own2 and own1.split("-")[1] != own2.split("-")[1]  # fresh traces otherwise
    assert trace.get_current_span().get_span_context().is_valid is False  # detached afterwards
