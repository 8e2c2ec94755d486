"""Alert rules: labels and annotations, runbook anchors, and a promtool test for every alert."""

from __future__ import annotations

from collections import defaultdict

import pytest

from .helpers import DOCS, PROMETHEUS, github_anchor, load_yaml, markdown_anchors

SEVERITIES = {"critical", "warning"}
HEARTBEAT = "Watchdog"  # always firing on purpose (severity heartbeat): no quiet case


def promtool_expectations() -> dict[str, dict[str, int]]:
    """For each alert name: how many evaluations expect it firing and how many expect silence."""
    seen: dict[str, dict[str, int]] = defaultdict(lambda: {"fires": 0, "quiet": 0})
    for path in sorted((PROMETHEUS / "tests").glob("*.yml")):
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                kind = "fires" if case.get("exp_alerts") else "quiet"
                seen[case["alertname"]][kind] += 1
    return seen


def test_alert_names_are_unique(alerts):
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names))


def test_every_alert_has_severity_and_annotations(alerts):
    for alert in alerts:
        severity = alert.get("labels", {}).get("severity")
        assert severity in SEVERITIES or (alert["alert"] == HEARTBEAT and severity == "heartbeat"), alert["alert"]
        annotations = alert.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert annotations.get(key, "").strip(), f"{alert['alert']} lacks {key}"


def test_runbook_urls_point_at_existing_sections(alerts):
    anchors = markdown_anchors(DOCS / "runbooks.md")
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        # An absolute link: prometheus.yml's external label runbook_base is
        # ${DOCS_BASE_URL}/runbooks.md, the client's published docs (test_alert_path.py).
        assert page == "{{ $externalLabels.runbook_base }}", url
        assert anchor == alert["alert"].lower(), url
        assert anchor in anchors, f"docs/runbooks.md has no section #{anchor}"


def test_every_alert_fires_and_stays_quiet_in_a_promtool_test(alerts):
    expectations = promtool_expectations()
    for alert in alerts:
        seen = expectations.get(alert["alert"], {"fires": 0, "quiet": 0})
        assert seen["fires"], f"no promtool test where {alert['alert']} fires"
        assert seen["quiet"] or alert["alert"] == HEARTBEAT, f"no promtool test where {alert['alert']} stays quiet"


def test_promtool_tests_name_only_existing_alerts(alerts):
    names = {a["alert"] for a in alerts}
    assert set(promtool_expectations()) <= names


def test_promtool_test_files_load_every_rule_file():
    rule_files = {p.name for p in (PROMETHEUS / "rules").glob("*.yml")}
    loaded = set()
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for ref in load_yaml(path)["rule_files"]:
            assert (path.parent / ref).is_file(), ref
            loaded.add((path.parent / ref).name)
    assert loaded == rule_files


def test_every_alert_has_a_runbook_section_and_the_reverse(alerts):
    # Sections that are not alerts: the introduction ones.
    extra = {"runbooks", "before-you-start"}
    anchors = markdown_anchors(DOCS / "runbooks.md") - extra
    assert anchors == {a["alert"].lower() for a in alerts}


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("RoleHighErrorRate", "rolehigherrorrate"), ("Before you start", "before-you-start")],
)
def test_github_anchor(heading, anchor):
    assert github_anchor(heading) == anchor
