"""Shared loaders for the offline checks of the monitoring stack (stacks/monitoring)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "stacks" / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
DOCS = ROOT / "docs"
ALERTMANAGER_TEMPLATE = MONITORING / "alertmanager" / "alertmanager.yml.j2"


def load_yaml(path: Path):
    with path.open() as f:
        return yaml.safe_load(f)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to -."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(path: Path) -> set[str]:
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", path.read_text(), re.MULTILINE)}


def alert_rules() -> list[dict]:
    rules = []
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            rules.extend(r for r in group["rules"] if "alert" in r)
    return rules


# --- PromQL metric names --------------------------------------------------------------------

PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a small tokenizer, enough for our queries).

    Drops strings, label matchers {...}, ranges [...], grouping clauses by (...) etc. and
    Grafana variables, then keeps identifiers that are not function calls or keywords.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text, flags=re.I)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def documented_metrics() -> set[str]:
    """Gateway metric names from the table in docs/metrics.md (rows starting with a name)."""
    text = (DOCS / "metrics.md").read_text()
    return set(re.findall(r"^\| `(gateway_[a-z0-9_]+)`", text, re.MULTILINE))


def is_documented(name: str, documented: set[str]) -> bool:
    if name in documented:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in documented:
            return True
    return False


def render_alertmanager(monitoring_env: str, **timings: str) -> str:
    """alertmanager.yml from a client's .env.monitoring text, as ansible's template task renders it
    (plain Jinja2, undefined variables are errors except the timing defaults)."""
    # YAML, not HTML: values are escaped by the template's tojson, as under ansible.
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)  # noqa: S701
    template = environment.from_string(ALERTMANAGER_TEMPLATE.read_text())
    variables: dict[str, Any] = {"monitoring_env": monitoring_env}
    for name in (
        "critical_group_wait",
        "critical_group_interval",
        "critical_repeat_interval",
        "warning_group_wait",
        "warning_group_interval",
        "warning_repeat_interval",
        "heartbeat_interval",
    ):
        if name in timings:
            variables[name] = timings.pop(name)
    assert not timings, f"unknown timings {timings}"
    return template.render(variables)
