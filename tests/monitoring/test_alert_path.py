"""An alert reaches a person: a real worker stops, and its alert arrives at a webhook, runbook linked.

Debian's prometheus and prometheus-alertmanager (scripts/setup.sh installs them) run from the
repository's own prometheus.yml, rule files and alertmanager.yml.j2, rendered for localhost:
Prometheus scrapes a real api and a real worker process (as each host's Alloy does in production,
with the same job/host/role labels) instead of the monitoring stack's containers, and only the
timings are shortened (scrape, evaluation and resend every second, `for:` 2 s, group waits 1 s) so the
test takes seconds. The worker is stopped; the test's own HTTP server, configured as the client's
ALERT_WEBHOOK_URL, must receive RoleNoReplicas for the worker with its runbook link, while
RoleTargetDown for it is inhibited.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from core.local_services import free_port

from .helpers import DOCS, MONITORING, PROMETHEUS, ROOT, markdown_anchors, render_alertmanager

DOCS_BASE_URL = "https://docs.demo.example.test/gateway/docs"
PROMETHEUS_BIN = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
HOST = "test-app-1"


class Inbox:
    """What the webhook receiver was sent: Alertmanager's JSON payloads, by path."""

    def __init__(self) -> None:
        self.payloads: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def alerts(self, path: str = "/alerts", **labels: str) -> list[dict[str, Any]]:
        with self.lock:
            found = [a for at, p in self.payloads if at == path for a in p["alerts"]]
        return [a for a in found if all(a["labels"].get(k) == v for k, v in labels.items())]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    box = Inbox()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with box.lock:
                box.payloads.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _render_prometheus(tmp: Path, alertmanager: str, targets: dict[str, str]) -> Path:
    """The shipped prometheus.yml and rules, for localhost, with second-scale timings."""
    rules = tmp / "rules"
    rules.mkdir()
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        (rules / path.name).write_text(re.sub(r"(?m)^(\s+for: )\d+[smh]$", r"\g<1>2s", path.read_text()))
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules / "*.yml")]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    # In production each app host's Alloy scrapes the roles and pushes with these labels.
    config["scrape_configs"] = [
        {
            "job_name": role,
            "static_configs": [{"targets": [target], "labels": {"host": HOST, "host_role": "app", "role": role}}],
        }
        for role, target in targets.items()
    ]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)


def _wait(what: str, check: Any, seconds: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in logs)
    raise AssertionError(f"{what} within {seconds}s\n{tails}")


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return []
    return answer.get("data", {}).get("result", []) if answer.get("status") == "success" else []


def test_worker_down_reaches_the_webhook_with_its_runbook_link(start_role, inbox, tmp_path):
    box, receiver = inbox
    api, worker = start_role("api", wait=False), start_role("worker", wait=False)  # start together
    for proc in (api, worker):
        proc.wait_live(seconds=60)

    # Alertmanager from the template and the demo client's env, the webhook pointed at us.
    env_text = (ROOT / "clients" / "demo" / ".env.monitoring").read_text()
    env_text += (
        f"\nALERT_WEBHOOK_URL={receiver}/alerts\nALERT_HEARTBEAT_URL={receiver}/heartbeat\n"
        "ALERT_EMAIL_TO=\nALERT_SLACK_WEBHOOK_URL=\n"
    )
    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(
        render_alertmanager(
            env_text,
            critical_group_wait="1s",
            critical_group_interval="1s",
            warning_group_wait="1s",
            warning_group_interval="1s",
            heartbeat_interval="1s",
        )
    )
    check = subprocess.run(["amtool", "check-config", str(am_config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    am_port, prom_port = free_port(), free_port()
    am_url = f"http://127.0.0.1:{am_port}/alertmanager"
    prom_url = f"http://127.0.0.1:{prom_port}"
    prom_config = _render_prometheus(
        tmp_path, f"127.0.0.1:{am_port}", {"api": f"127.0.0.1:{api.port}", "worker": f"127.0.0.1:{worker.port}"}
    )
    logs = [tmp_path / "alertmanager.log", tmp_path / "prometheus.log"]
    procs = [
        _start(
            [
                ALERTMANAGER_BIN,
                f"--config.file={am_config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                f"--web.external-url={am_url}/",
                "--web.route-prefix=/alertmanager",
                "--cluster.listen-address=",
            ],
            logs[0],
        ),
        _start(
            [
                PROMETHEUS_BIN,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--enable-feature=expand-external-labels",  # Prometheus 3 does it by default
                # Alerts that fire before the notifier has found Alertmanager (Watchdog at the first
                # evaluation) are sent again after this delay: 1m in production.
                "--rules.alert.resend-delay=1s",
            ],
            logs[1],
            env={"PATH": "/usr/bin:/bin", "CLIENT": "demo", "DOCS_BASE_URL": DOCS_BASE_URL},
        ),
    ]
    try:
        _wait(
            "both roles scraped up",
            lambda: len([r for r in _query(prom_url, 'up{job=~"api|worker"} == 1')]) == 2,
            30,
            logs,
        )
        assert not box.alerts(job="worker"), "no alert about the worker while it runs"
        # The dead man's switch beats at its own receiver, never at the people's.
        _wait("Watchdog at the heartbeat URL", lambda: box.alerts("/heartbeat", alertname="Watchdog"), 30, logs)
        assert not box.alerts(alertname="Watchdog")

        worker.stop()

        firing = _wait(
            "RoleNoReplicas for the worker at the webhook",
            lambda: [a for a in box.alerts(alertname="RoleNoReplicas", job="worker") if a["status"] == "firing"],
            60,
            logs,
        )[0]
        runbook = firing["annotations"]["runbook_url"]
        assert runbook == f"{DOCS_BASE_URL}/runbooks.md#rolenoreplicas"
        assert runbook.rpartition("#")[2] in markdown_anchors(DOCS / "runbooks.md")
        assert firing["labels"]["severity"] == "critical"
        assert firing["labels"]["client"] == "demo"
        assert "runbook_base" not in firing["labels"]  # only used to build the link
        assert firing["annotations"]["summary"] == "role worker has no healthy replica"

        # The per-replica alert fired too, and the inhibition rule kept it from the receiver.
        def suppressed() -> list[dict[str, Any]]:
            alerts = httpx.get(f"{am_url}/api/v2/alerts", timeout=2).json()
            return [
                a
                for a in alerts
                if a["labels"].get("alertname") == "RoleTargetDown"
                and a["labels"].get("job") == "worker"
                and a["status"]["state"] == "suppressed"
                and a["status"]["inhibitedBy"]
            ]

        _wait("RoleTargetDown for the worker inhibited by RoleNoReplicas", suppressed, 30, logs)
        assert not box.alerts(alertname="RoleTargetDown", job="worker")
        assert not box.alerts(job="api"), "the api role kept running: nothing about it"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_the_rendered_alertmanager_config_of_every_client_is_valid(tmp_path):
    for client in sorted((ROOT / "clients").iterdir()):
        config = tmp_path / f"{client.name}.yml"
        config.write_text(render_alertmanager((client / ".env.monitoring").read_text()))
        check = subprocess.run(["amtool", "check-config", str(config)], capture_output=True, text=True)
        assert check.returncode == 0, (client.name, check.stdout + check.stderr)
        rendered = yaml.safe_load(config.read_text())
        receivers = {r["name"]: r for r in rendered["receivers"]}
        assert set(receivers) == {"critical", "warning", "heartbeat"}
        for receiver in receivers.values():
            assert set(receiver) - {"name"}, f"{client.name}: receiver {receiver['name']} reaches nobody"
        routes = {r["matchers"][0]: r["receiver"] for r in rendered["route"]["routes"]}
        assert routes == {
            'alertname="Watchdog"': "heartbeat",
            'severity="critical"': "critical",
            'severity="warning"': "warning",
        }


def test_a_client_without_receivers_renders_receivers_that_reach_nobody(tmp_path):
    """The template adds only what is set: ansible refuses such a client (stack_deploy)."""
    env_text = "CLIENT=x\nALERT_WEBHOOK_URL=\nALERT_EMAIL_TO=\nALERT_SLACK_WEBHOOK_URL=\n"
    rendered = yaml.safe_load(render_alertmanager(env_text))
    assert all(set(r) == {"name"} for r in rendered["receivers"])  # heartbeat too: it is optional
    tasks = (ROOT / "ansible" / "roles" / "stack_deploy" / "tasks" / "main.yml").read_text()
    assert "ALERT_(WEBHOOK_URL|EMAIL_TO|SLACK_WEBHOOK_URL)" in tasks


def test_alertmanager_sits_behind_the_monitoring_caddy_with_the_ui_credentials():
    caddyfile = (MONITORING / "caddy" / "Caddyfile").read_text()
    ui = caddyfile[caddyfile.index("\thandle {\n\t\tbasicauth {\n\t\t\t{$MONITORING_BASIC_AUTH_USER}") :]
    assert "handle /alertmanager* {\n\t\t\treverse_proxy alertmanager:9093" in ui
    compose = yaml.safe_load((MONITORING / "compose.yml").read_text())
    service = compose["services"]["alertmanager"]
    assert "ports" not in service, "reachable only through Caddy"
    assert "--web.route-prefix=/alertmanager" in service["command"]
    assert service["secrets"] == ["alertmanager_config"]
    prometheus = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
