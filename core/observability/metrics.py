"""Every metric the gateway exports, in one place (docs/metrics.md lists them with labels).

OpenTelemetry SDK instruments exported through the Prometheus exporter, so `/metrics` on every
role serves them with prometheus-client. Label values must be bounded: function names, route
templates, status names; never ids or raw paths.
"""

from __future__ import annotations

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_provider: MeterProvider | None = None


def _meter() -> Meter:
    global _provider
    if _provider is None:
        _provider = MeterProvider(
            # No otel_scope_* labels (one scope, "gateway") and no target_info: every series is in
            # docs/metrics.md; Prometheus's job/instance labels say where a sample came from.
            metric_readers=[PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False)],
            resource=Resource.create({"service.name": "gateway"}),
        )
    return _provider.get_meter("gateway")


_m = _meter()
HTTP_REQUESTS = _m.create_counter("gateway_http_requests", description="HTTP requests by function")
HTTP_DURATION = _m.create_histogram(
    "gateway_http_request_duration",
    unit="s",
    description="HTTP request duration by function",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
)
HTTP_ERRORS = _m.create_counter("gateway_http_errors", description="API errors by function and code")
PAYINS = _m.create_counter("gateway_payins", description="payin transitions into a status")
PAYOUTS = _m.create_counter("gateway_payouts", description="payout transitions into a status")
PROVIDER_CALL_DURATION = _m.create_histogram(
    "gateway_provider_call_duration",
    unit="s",
    description="provider HTTP call duration",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
)
PROVIDER_CALL_ERRORS = _m.create_counter("gateway_provider_call_errors", description="provider call errors")
JOB_RUNS = _m.create_counter("gateway_job_runs", description="job runs by outcome")
JOB_DURATION = _m.create_histogram(
    "gateway_job_duration",
    unit="s",
    description="job run duration",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
)
QUEUE_DEPTH = _m.create_gauge("gateway_queue_depth", description="jobs queued")
QUEUE_OLDEST_AGE = _m.create_gauge("gateway_queue_oldest_job_age", unit="s", description="age of the oldest queued job")
WEBHOOK_DELIVERIES = _m.create_counter("gateway_webhook_deliveries", description="webhook delivery results")
PAYOUTS_NEEDING_REVIEW = _m.create_gauge(
    "gateway_payouts_needing_review", description="payouts whose status polling ran out"
)
TRANSACTIONS_NEEDING_REVIEW = _m.create_gauge(
    "gateway_transactions_needing_review",
    description="payins, payouts and refunds flagged needs_review (polling ran out, amount mismatch)",
)
AMOUNT_MISMATCHES = _m.create_counter(
    "gateway_provider_amount_mismatches", description="provider reports whose amount or currency disagreed"
)
CALLBACKS_REJECTED = _m.create_counter(
    "gateway_provider_callbacks_rejected",
    description="provider callbacks refused: invalid_signature, ple_mismatch, malformed, unknown_object",
)
REFUNDS = _m.create_counter("gateway_refunds", description="refund transitions into a status")
RECONCILIATION_MISMATCHES = _m.create_gauge(
    "gateway_reconciliation_mismatches", description="mismatches in the latest reconciliation"
)
LEDGER_POSTINGS = _m.create_counter("gateway_ledger_postings", description="journal entries posted")
PAYIN_EXPIRY_LAG = _m.create_gauge(
    "gateway_payin_expiry_lag", unit="s", description="how far past expires_at the oldest pending payin is"
)
SETTLEMENTS = _m.create_counter("gateway_settlements", description="provider fee settlements")


def record_provider_call(provider: str, operation: str, seconds: float, error_kind: str | None) -> None:
    """Time one provider call; `error_kind` is timeout|connect|http_5xx|http_4xx or None."""
    PROVIDER_CALL_DURATION.record(seconds, {"provider": provider, "operation": operation})
    if error_kind:
        PROVIDER_CALL_ERRORS.add(1, {"provider": provider, "operation": operation, "kind": error_kind})


def render_latest() -> tuple[bytes, str]:
    """The Prometheus exposition of this process's metrics and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
