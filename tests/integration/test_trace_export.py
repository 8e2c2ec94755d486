"""Spans are recorded and exported only where something reads them (core/observability/tracing.py):
with OTEL_EXPORTER_OTLP_ENDPOINT set, a role sends its server and client spans over OTLP/HTTP; with
none, spans are dropped at birth but keep the ids that log lines and jobs carry (issue 19)."""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.trace import NonRecordingSpan, SpanContext

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
    """Also when the caller says "not sampled": its flag continues the trace id but does not switch
    off the gateway's spans. (In the full suite an instrumented httpx client in this process sent
    exactly that header, and the role exported nothing.)"""
    url, received, paths = collector
    for name in list(os.environ):  # nothing inherited may send the role's spans elsewhere
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
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    unsampled = {"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-00"}
    deadline, asked = time.monotonic() + 45, 0.0
    while time.monotonic() < deadline and not any(s.name == "GET /health/ready" for s in _spans(received)):
        if time.monotonic() - asked > 3:  # again now and then: a busy machine may delay a batch
            # http.client, not httpx: once another test instrumented httpx here, it replaces the header
            conn = http.client.HTTPConnection("127.0.0.1", role.port, timeout=10)
            try:
                conn.request("GET", "/health/ready", headers=unsampled)
                assert conn.getresponse().status == 200
            finally:
                conn.close()
            asked = time.monotonic()
        time.sleep(0.1)
    spans = _spans(received)
    server = [s for s in spans if s.name == "GET /health/ready"]
    assert server, (
        f"no server span exported; got {sorted({s.name for s in spans})}, posts to"
        f" {paths or 'nowhere'}; role output: {role.output()[:3000]}"
    )
    assert server[0].trace_id.hex() == caller_trace  # the caller's trace, continued
    assert '"traces":"exported"' in role.output()  # the role's start line says so
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


def test_a_callers_not_sampled_flag_keeps_its_trace_but_not_its_decision() -> None:
    from opentelemetry import trace

    provider = build_tracer_provider("test", "gateway", "test")
    caller = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=True)  # flags 00
    parent = trace.set_span_in_context(NonRecordingSpan(caller))
    tracer = provider.get_tracer("test")
    server = tracer.start_span("GET /v1/payins/{id}", context=parent, kind=trace.SpanKind.SERVER)
    assert server.is_recording() and server.get_span_context().trace_id == caller.trace_id
    # a client call outside any request or job still starts no trace
    assert not tracer.start_span("redis GET", kind=trace.SpanKind.CLIENT).is_recording()
