"""`/metrics` of every role (ARCHITECTURE §9, issue 10, docs/metrics.md): only the documented
series, each with its documented label names, every label value from a bounded set (no ids)."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from core.registry import discover_functions, discover_jobs
from core.storage.redis import QUEUE_NAMES
from tests.fixtures.stack import eventually

ID_VALUE = re.compile(r"^[a-z]{1,6}_[0-9A-Za-z]{10,}$")  # our ids: pi_…, mer_…, req_…
JOB_NAMES = {p.stem for p in (Path(__file__).parents[2] / "jobs").glob("*.py")} - {"__init__"}
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
    assert (
        await m.post(
            "/v1/payins",
            {
                "amount": 10_000,
                "currency": "INR",
                "reference": "ok-obs-metrics",
                "method": "upi",
                "customer": {"name": "Asha Rao", "email": "asha@example.com"},
            },
        )
    ).status_code == 201
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
