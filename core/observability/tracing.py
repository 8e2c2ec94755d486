"""OpenTelemetry traces: the tracer provider, library instrumentation, and trace context helpers.

One TracerProvider per process (configure_tracing, from configure_process) with the resource
attributes service.name, service.role and deployment.environment. Spans leave through the OTLP
HTTP exporter only when OTEL_EXPORTER_OTLP_ENDPOINT is set; the exporter reads the standard
OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout, compression).

With no endpoint nothing would read a span, so none is recorded: the provider samples nothing
(its spans still carry trace and span ids, which log lines and jobs carry) and the database,
Redis and HTTP client libraries are not instrumented. Recording spans nobody exports cost a
tenth of a signed request's CPU (issue 19, docs/performance.md).

Trace context travels with every enqueued job as a W3C `traceparent` (core.jobs_client), and the
job's span is a child of the enqueuing span. A provider callback arrives without our context, so
the first traceparent seen for a payin or payout (its creation) is remembered in Redis for
ORIGIN_TTL_SECONDS and the job that processes the callback links its span to it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from core.observability.logging import redact_text

log = structlog.get_logger("tracing")
ORIGIN_TTL_SECONDS = 2 * 24 * 3600  # callbacks come within a payin's life; payouts within their polling
_ORIGIN_KEY = "gw:trace-origin:{}"
_propagator = TraceContextTextMapPropagator()
_configured = False


class _NoOrphanClientSpans(Sampler):
    """Root sampler: a client call (database, Redis, HTTP) outside any request or job starts no
    trace. The saq worker polls Redis all the time; one trace per poll would drown the real ones.
    (PyMongo's spans get their attributes after the sampling decision, so the kind decides.)
    """

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "NoOrphanClientSpans"


def exporting(settings: Any) -> bool:
    """Whether this process has somewhere to send spans (the standard OTLP variables)."""
    return bool(settings.otel_exporter_otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def build_tracer_provider(role: str, service_name: str, environment: str, *, recording: bool = True) -> TracerProvider:
    """A provider with the gateway's resource and sampler, exporting nothing yet. Not `recording`:
    every span is dropped at birth, keeping only its ids."""
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name,
            "service.role": role,
            "deployment.environment": environment,
        }
    )
    # A caller's "not sampled" flag in its traceparent is outside input: it keeps its trace id, but
    # it does not switch off the gateway's own spans of that request (nor, in the tests, did an
    # instrumented httpx client whose own span was dropped; docs/decisions.md).
    own = _NoOrphanClientSpans()
    sampler = ParentBased(root=own, remote_parent_not_sampled=own) if recording else ALWAYS_OFF
    return TracerProvider(resource=resource, sampler=sampler)


def configure_tracing(role: str, settings: Any) -> TracerProvider | None:
    """Install this process's tracer provider and instrument the libraries, once per process."""
    global _configured
    if _configured:
        return None
    _configured = True
    export = exporting(settings)
    provider = build_tracer_provider(role, settings.otel_service_name, settings.environment, recording=export)
    trace.set_tracer_provider(provider)
    if export:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # No arguments: the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/HEADERS/... itself.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        instrument_libraries()
    return provider


def instrument_libraries() -> None:
    """PostgreSQL (asyncpg), MongoDB (pymongo command monitoring), Redis and httpx client spans.

    PyMongo's listener is registered globally and applies to clients created afterwards, so this
    runs before any Resources are opened.
    """
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (AsyncPGInstrumentor(), PymongoInstrumentor(), RedisInstrumentor(), HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            try:
                instrumentor.instrument()
            except Exception as exc:  # a broken instrumentation must never stop a role
                log.warning("instrumentation failed", instrumentor=type(instrumentor).__name__, error=str(exc))


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None outside any span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    if not traceparent:
        return None
    extracted = _propagator.extract({"traceparent": traceparent})
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None


def link_to(traceparent: str | None) -> Link | None:
    parent = context_from_traceparent(traceparent)
    return Link(trace.get_current_span(parent).get_span_context()) if parent is not None else None


async def remember_origin(redis: Any, object_id: str, traceparent: str) -> None:
    """Keep the first traceparent seen for a payin/payout (its creation); later calls are no-ops."""
    await redis.set(_ORIGIN_KEY.format(object_id), traceparent, nx=True, ex=ORIGIN_TTL_SECONDS)


async def origin_of(redis: Any, object_id: str) -> str | None:
    value = await redis.get(_ORIGIN_KEY.format(object_id))
    return value.decode() if isinstance(value, bytes) else value


async def name_server_span(message: dict[str, Any], scope: dict[str, Any]) -> None:
    """Litestar before_send hook: once routed, the server span is named by its route template."""
    if message.get("type") != "http.response.start":
        return
    template = scope.get("path_template")
    span = trace.get_current_span()
    if template and span.is_recording():
        span.update_name(f"{scope.get('method', '')} {template}")
        span.set_attribute("http.route", template)
        handler = scope.get("route_handler")
        function = getattr(handler, "opt", {}).get("function") if handler is not None else None
        if function:
            span.set_attribute("gateway.function", function)


_URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full")


def _redact_url_attributes(span: trace.Span) -> None:
    # The ASGI instrumentation records the raw path; a one-time link carries its secret there
    # (`/reset/pwl_…`, core/dashboard/password_links.py). The log redaction's rules apply here too.
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = recorded.get(key)
        if isinstance(value, str) and (clean := redact_text(value)) != value:
            span.set_attribute(key, clean)


def _bind_trace_ids(span: trace.Span, scope: dict[str, Any]) -> None:
    _redact_url_attributes(span)
    # Bound for the request's lifetime so its last log line (after the span ends) carries them.
    context = span.get_span_context()
    if context.is_valid:
        structlog.contextvars.bind_contextvars(
            trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x")
        )


def _unrouted_span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # The span starts before routing: never the raw path (it holds ids); renamed once routed.
    return f"{scope.get('method', '')} unmatched".strip(), {}


def litestar_plugin() -> Any:
    """Litestar's OpenTelemetry plugin: one server span per request, no per-message spans."""
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry.metrics import NoOpMeterProvider

    config = OpenTelemetryConfig(
        scope_span_details_extractor=_unrouted_span_details,  # type: ignore[arg-type]
        server_request_hook_handler=_bind_trace_ids,
        exclude_spans=["receive", "send"],
        scopes={"http"},  # type: ignore[arg-type]
        # HTTP metrics are ours (core/http/context.py); the instrumentation's would duplicate them.
        meter_provider=NoOpMeterProvider(),
    )
    return OpenTelemetryPlugin(config)


def spans_recorded() -> bool:
    """Whether this process records spans (an SDK provider that samples): apps built then get
    Litestar's OpenTelemetry plugin; otherwise the much cheaper `TraceIds`."""
    provider = trace.get_tracer_provider()
    return isinstance(provider, TracerProvider) and provider.sampler is not ALWAYS_OFF


class TraceIds:
    """ASGI middleware for a process that records no spans: each request still gets a trace id
    (the caller's, from a valid `traceparent`) and a span id, current for the request, so log
    lines and the jobs it enqueues carry them exactly as with the instrumentation. Litestar's
    OpenTelemetry middleware spent a tenth of a signed request's CPU building a span nobody read
    (issue 19)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = 0
        for key, value in scope.get("headers", ()):
            if key == b"traceparent":
                parent = context_from_traceparent(value.decode("latin-1"))
                if parent is not None:
                    trace_id = trace.get_current_span(parent).get_span_context().trace_id
                break
        trace_id = trace_id or random.getrandbits(128) or 1
        span_id = random.getrandbits(64) or 1
        span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(0)))
        token = otel_context.attach(trace.set_span_in_context(span))
        structlog.contextvars.bind_contextvars(trace_id=format(trace_id, "032x"), span_id=format(span_id, "016x"))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
