"""Every metric the gateway exports, in one place (docs/metrics.md lists them with labels).

prometheus-client instruments behind the small OpenTelemetry-shaped surface the code calls
(`counter.add(n, attributes)`, `histogram.record(v, attributes)`, `gauge.set(v, attributes)`).
Under `gateway serve` every Granian worker process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR and `/metrics` answers with the sum over all of them, so one scrape is
the whole role however many workers serve it (docs/metrics.md, "Workers and replicas"). The
OpenTelemetry Prometheus exporter, used before, has no multiprocess mode: with two workers each
scrape saw one process's counts. Label values must be bounded: function names, route templates,
status names; never ids or raw paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import prometheus_client
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, values
from prometheus_client.metrics import MetricWrapperBase

from core.observability import multiproc
from core.observability.figures import FIGURES, FiguresCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
Attributes = Mapping[str, str | int | float | bool] | None

# The value class is chosen when prometheus_client is imported; `gateway serve` sets the
# directory first, but choose again in case something imported the library earlier.
if multiproc.enabled():
    values.ValueClass = values.get_value_class()
prometheus_client.disable_created_metrics()  # *_created series are noise for these rules


class _Instrument:
    def __init__(self, metric: MetricWrapperBase, labels: tuple[str, ...]) -> None:
        self._metric, self._labels = metric, labels
        # Label values are bounded (module docstring), so their children are too: found by the
        # attributes as given, checked once (prometheus-client's `labels()` was 3 % of a payin).
        self._children: dict[tuple[tuple[str, object], ...], MetricWrapperBase] = {}

    def _child(self, attributes: Attributes) -> MetricWrapperBase:
        key = tuple(attributes.items()) if attributes else ()
        child = self._children.get(key)
        if child is None:
            given = dict(attributes or {})
            if set(given) != set(self._labels):
                raise ValueError(f"{self._metric._name}: labels {sorted(given)}, expected {sorted(self._labels)}")
            child = self._metric.labels(**{k: str(v) for k, v in given.items()}) if self._labels else self._metric
            self._children[key] = child
        return child


class Counter(_Instrument):
    def add(self, amount: float, attributes: Attributes = None) -> None:
        self._child(attributes).inc(amount)  # type: ignore[attr-defined]


class Histogram(_Instrument):
    def record(self, value: float, attributes: Attributes = None) -> None:
        self._child(attributes).observe(value)  # type: ignore[attr-defined]


class Gauge(_Instrument):
    def set(self, value: float, attributes: Attributes = None) -> None:
        self._child(attributes).set(value)  # type: ignore[attr-defined]


def _counter(name: str, doc: str, *labels: str) -> Counter:
    return Counter(prometheus_client.Counter(name, doc, labels), labels)


def _histogram(name: str, doc: str, *labels: str) -> Histogram:
    return Histogram(prometheus_client.Histogram(name, doc, labels, buckets=LATENCY_BUCKETS), labels)


def _gauge(name: str, doc: str, *labels: str) -> Gauge:
    # Every gauge describes shared state (Redis, the databases): across worker processes the
    # latest value written wins.
    return Gauge(prometheus_client.Gauge(name, doc, labels, multiprocess_mode="mostrecent"), labels)


class _StoredFigure:
    """A figure exported from what is stored (core.observability.figures), not from memory: a
    restart changes nothing. `set` records a fresh value at once; the worker role refreshes it
    from the store every FIGURES_REFRESH_SECONDS."""

    def __init__(self, name: str) -> None:
        self._name = name

    def set(self, value: float, attributes: Attributes = None) -> None:
        FIGURES.set(self._name, int(value))


HTTP_REQUESTS = _counter("gateway_http_requests", "HTTP requests by function", "function", "method", "status_code")
HTTP_DURATION = _histogram(
    "gateway_http_request_duration_seconds", "HTTP request duration by function", "function", "method"
)
HTTP_ERRORS = _counter("gateway_http_errors", "API errors by function and code", "function", "code")
PAYINS = _counter("gateway_payins", "payin transitions into a status", "status", "method", "provider")
PAYOUTS = _counter("gateway_payouts", "payout transitions into a status", "status", "mode", "provider")
PROVIDER_CALL_DURATION = _histogram(
    "gateway_provider_call_duration_seconds", "provider HTTP call duration", "provider", "operation"
)
PROVIDER_CALL_ERRORS = _counter("gateway_provider_call_errors", "provider call errors", "provider", "operation", "kind")
JOB_RUNS = _counter("gateway_job_runs", "job runs by outcome", "job", "outcome")
JOB_DURATION = _histogram("gateway_job_duration_seconds", "job run duration", "job")
QUEUE_DEPTH = _gauge("gateway_queue_depth", "jobs queued", "queue")
QUEUE_OLDEST_AGE = _gauge("gateway_queue_oldest_job_age_seconds", "age of the oldest queued job", "queue")
WEBHOOK_DELIVERIES = _counter("gateway_webhook_deliveries", "webhook delivery results", "result")
PAYOUTS_NEEDING_REVIEW = _gauge("gateway_payouts_needing_review", "payouts whose status polling ran out")
TRANSACTIONS_NEEDING_REVIEW = _gauge(
    "gateway_transactions_needing_review",
    "payins, payouts and refunds flagged needs_review (polling ran out, amount mismatch)",
    "kind",
)
AMOUNT_MISMATCHES = _counter(
    "gateway_provider_amount_mismatches",
    "provider reports whose amount or currency disagreed",
    "kind",
    "provider",
)
CALLBACKS_REJECTED = _counter(
    "gateway_provider_callbacks_rejected",
    "provider callbacks refused: invalid_signature, ple_mismatch, malformed, unknown_object",
    "provider",
    "reason",
)
REFUNDS = _counter("gateway_refunds", "refund transitions into a status", "status", "provider")
RECONCILIATION_MISMATCHES = _StoredFigure("reconciliation_mismatches")
LEDGER_POSTINGS = _counter("gateway_ledger_postings", "journal entries posted", "kind")
PAYIN_EXPIRY_LAG = _gauge("gateway_payin_expiry_lag_seconds", "how far past expires_at the oldest pending payin is")

_figures = FiguresCollector()
REGISTRY.register(_figures)


def record_provider_call(provider: str, operation: str, seconds: float, error_kind: str | None) -> None:
    """Time one provider call; `error_kind` is timeout|connect|http_5xx|http_4xx or None."""
    PROVIDER_CALL_DURATION.record(seconds, {"provider": provider, "operation": operation})
    if error_kind:
        PROVIDER_CALL_ERRORS.add(1, {"provider": provider, "operation": operation, "kind": error_kind})


def render_latest() -> tuple[bytes, str]:
    """The Prometheus exposition of this role (every worker process of it) and its content type."""
    path = os.environ.get(multiproc.ENV)
    if not path:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    registry.register(_figures)
    with multiproc.collecting(path) as collector:
        registry.register(collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST
