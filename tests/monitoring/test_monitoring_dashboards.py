"""Grafana dashboards: they parse, and every Prometheus query uses only documented metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import (
    MONITORING,
    documented_metrics,
    is_documented,
    load_yaml,
    promql_metric_names,
)

DASHBOARDS = MONITORING / "grafana" / "dashboards"
REQUIRED = {"overview.json", "payments.json", "jobs-queues.json", "infrastructure.json"}

# Standard metrics the dashboards may use besides docs/metrics.md's gateway table: Prometheus's
# own, node-exporter's and cAdvisor's (listed in docs/metrics.md, "Standard metrics").
STANDARD_METRICS = {
    "up",
    "ALERTS",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_load1",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "container_last_seen",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
}


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def all_panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
    return panels


def prometheus_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, expr) of every Prometheus query: panel targets and template variables."""
    found = []
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            ds = target.get("datasource") or panel.get("datasource") or {}
            if ds.get("type") == "prometheus":
                found.append((f"panel {panel.get('title')!r}", target["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query" and (var.get("datasource") or {}).get("type") == "prometheus":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            # label_values(<selector>, label): the selector is the part to check.
            if query.startswith("label_values("):
                query = query[len("label_values(") :].rsplit(",", 1)[0]
            found.append((f"variable {var['name']!r}", query))
    return found


def test_required_dashboards_exist():
    assert {p.name for p in dashboard_files()} >= REQUIRED


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_parses_and_has_panels(path):
    dashboard = json.loads(path.read_text())
    assert dashboard.get("uid") and dashboard.get("title")
    panels = [p for p in all_panels(dashboard) if p.get("type") != "row"]
    assert panels, "dashboard without panels"
    ids = [p["id"] for p in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in panels:
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no query"


def test_dashboard_uids_are_unique():
    uids = [json.loads(p.read_text())["uid"] for p in dashboard_files()]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_panel_queries_use_only_documented_metrics(path):
    allowed = documented_metrics()
    assert len(allowed) >= 17, "docs/metrics.md lost its gateway metrics table"
    dashboard = json.loads(path.read_text())
    queries = prometheus_queries(dashboard)
    assert queries
    for where, expr in queries:
        names = promql_metric_names(expr)
        assert names, f"{where}: no metric found in {expr!r}"
        unknown = {n for n in names if n not in STANDARD_METRICS and not is_documented(n, allowed)}
        assert not unknown, f"{where} uses undocumented metrics {sorted(unknown)}"


def test_panel_datasources_are_provisioned():
    provisioned = load_yaml(MONITORING / "grafana/provisioning/datasources/datasources.yml")
    uids = {ds["uid"] for ds in provisioned["datasources"]}
    for path in dashboard_files():
        for panel in all_panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel.get("datasource")
                assert ds["uid"] in uids, f"{path.name}: {panel['title']} uses {ds['uid']}"


def test_metric_name_extraction():
    expr = (
        "histogram_quantile(0.99, sum by (le, job) (rate(gateway_http_request_duration_seconds_bucket"
        '{function="payins.create", job=~"$role"}[$__rate_interval]))) > 2 and on (job) '
        "up == 1 or vector(0)"
    )
    assert promql_metric_names(expr) == {"gateway_http_request_duration_seconds_bucket", "up"}


def test_undocumented_metric_is_rejected():
    allowed = documented_metrics()
    assert is_documented("gateway_job_duration_seconds_count", allowed)
    assert not is_documented("gateway_made_up_total", allowed)
