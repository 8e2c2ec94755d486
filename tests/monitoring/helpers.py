"""Shared loaders for the offline checks of the monitoring stack (stacks/monitoring)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "stacks" / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
DOCS = ROOT / "docs"


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
