"""Compose stack, Prometheus scrape config, Grafana data sources and the Loki, Tempo,
otel-collector, Alloy and Caddy configs, checked structurally (none of those binaries runs here;
promtool and `caddy validate` run in .ci/monitoring-checks.sh)."""

from __future__ import annotations

import re

import pytest

from .helpers import MONITORING, PROMETHEUS, load_yaml

REFERENCE_SERVICES = {"prometheus", "grafana", "loki", "tempo", "otel-collector", "alloy", "caddy"}
ROLES = ("api", "payment", "worker", "frontend")
# An exact version tag (v3.4.1, 12.0.2, 0.128.0, 2.10.0-alpine) or a digest; never latest.
PINNED = re.compile(r"^[\w./-]+(:v?\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|HASH|KEY", re.I)


@pytest.fixture(scope="module")
def compose():
    return load_yaml(MONITORING / "compose.yml")


@pytest.fixture(scope="module")
def datasources():
    path = MONITORING / "grafana/provisioning/datasources/datasources.yml"
    return {ds["type"]: ds for ds in load_yaml(path)["datasources"]}


# --- compose ----------------------------------------------------------------------------------


def test_reference_services_present(compose):
    assert set(compose["services"]) >= REFERENCE_SERVICES


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("prom/prometheus:v3.4.1", True),
        ("caddy:2.10.0-alpine", True),
        ("grafana/loki:latest", False),
        ("grafana/loki", False),
        ("grafana/loki:3", False),
    ],
)
def test_pin_pattern(image, ok):
    assert bool(PINNED.match(image)) is ok


def test_images_pinned(compose):
    for name, svc in compose["services"].items():
        assert PINNED.match(svc.get("image", "")), f"{name}: image {svc.get('image')!r} not pinned"


def test_every_service_is_operable(compose):
    for name, svc in compose["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name}: no health check"
        assert svc.get("restart") in {"unless-stopped", "always"}, f"{name}: no restart policy"
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        assert limits.get("memory") and limits.get("cpus"), f"{name}: no resource limits"
        env_files = svc.get("env_file", [])
        assert any(re.fullmatch(r"\.\./\.\./clients/\$\{CLIENT[^}]*\}/\.env\.monitoring", f) for f in env_files), (
            f"{name}: not reading the client's .env.monitoring"
        )


def test_monitoring_lives_on_its_own_host(compose):
    """No shared Docker network with the app stack: everything arrives through Caddy's ingest."""
    assert set(compose["networks"]) == {"monitoring"}
    for name, svc in compose["services"].items():
        assert svc.get("networks", ["monitoring"]) == ["monitoring"], name
        assert "extra_hosts" not in svc, name
        if name != "caddy":
            assert not svc.get("ports"), f"{name}: only Caddy publishes ports"
    assert "--web.enable-remote-write-receiver" in compose["services"]["prometheus"]["command"]


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    for name in ("prometheus", "grafana", "loki", "tempo", "caddy"):
        sources = {v.split(":", 1)[0] for v in compose["services"][name]["volumes"]}
        named = {s for s in sources if not s.startswith(("/", "."))}
        assert named, f"{name}: no named volume for its data"
        assert named <= declared, f"{name}: undeclared volumes {named - declared}"


def test_no_literal_secret_in_compose(compose):
    for name, svc in compose["services"].items():
        env = svc.get("environment", {})
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
        for key, value in items:
            if key.endswith("_FILE"):  # a compose secret's path, never its value
                assert str(value).startswith("/run/secrets/"), f"{name}: {key} is not a compose secret"
                assert value.removeprefix("/run/secrets/") in svc.get("secrets", []), f"{name}: {key} not mounted"
            elif SECRET_KEY.search(key):
                assert str(value).startswith("${"), f"{name}: literal secret in {key}"


# --- Prometheus -------------------------------------------------------------------------------


def test_prometheus_scrapes_only_the_monitoring_host():
    """Roles, node-exporter and cAdvisor of the other hosts are pushed (remote write), not scraped."""
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "grafana", "loki", "tempo", "otel-collector", "alloy", "alertmanager"}
    assert not set(jobs) & {*ROLES, "node-exporter", "cadvisor"}
    assert config["rule_files"] == ["rules/*.yml"]


def _alloy(stack: str) -> str:
    return (MONITORING.parent / stack / "config.alloy").read_text()


def _blocks(text: str) -> dict[str, str]:
    """{'prometheus.scrape "roles"': body} of the top-level blocks of an Alloy config."""
    return {
        m.group(1): m.group(2) for m in re.finditer(r'^([a-z_.]+ "\w+") \{\n(.*?)^\}', text, re.MULTILINE | re.DOTALL)
    }


def test_app_host_alloy_finds_every_replica_of_every_role_by_dns():
    text = _alloy("app")
    assert text.count("{") == text.count("}"), "unbalanced braces"
    blocks = _blocks(text)
    dns = blocks['discovery.dns "roles"']
    assert re.search(r'names\s*=\s*\["api", "payment", "worker", "frontend"\]', dns)
    assert re.search(r'type\s*=\s*"A"', dns) and re.search(r"port\s*=\s*8000", dns)
    # the DNS name (= role) becomes the job label, which rules and dashboards key on
    relabel = blocks['discovery.relabel "roles"']
    assert re.search(r'source_labels = \["__meta_dns_name"\]\s*target_label\s*=\s*"job"', relabel)
    scrape = blocks['prometheus.scrape "roles"']
    assert "discovery.relabel.roles.output" in scrape and "prometheus.relabel.job_name.receiver" in scrape
    # gateway_job_* carry their own `job` label: it must be renamed, not silently clobbered.
    rename = blocks['prometheus.relabel "job_name"']
    assert 'target_label  = "job_name"' in rename and 'regex  = "exported_job"' in rename


@pytest.mark.parametrize("stack", ["app", "databases"])
def test_host_alloy_pushes_agents_and_logs_through_the_ingest_routes(stack):
    text = _alloy(stack)
    blocks = _blocks(text)
    for job, address in (("node-exporter", "node-exporter:9100"), ("cadvisor", "cadvisor:8080"), ("alloy", None)):
        body = next(b for b in blocks.values() if f'job_name        = "{job}"' in b)
        assert address is None or address in body, job
        assert "prometheus.remote_write.monitoring.receiver" in body, job
    write = blocks['prometheus.remote_write "monitoring"']
    assert 'url = sys.env("PROMETHEUS_WRITE_URL")' in write
    for label, var in (("client", "CLIENT"), ("host", "GATEWAY_HOST"), ("host_role", "STACK")):
        assert re.search(rf'{label}\s*=\s*sys\.env\("{var}"\)', write), label
    logs = blocks['loki.write "monitoring"']
    assert 'url = sys.env("LOKI_PUSH_URL")' in logs
    for body in (write, logs):
        assert 'username = sys.env("INGEST_USER")' in body and 'password_file = "/run/secrets/ingest_password"' in body
    # only this stack's containers: a host running two stacks ships no line twice
    assert f'"com.docker.compose.project=gateway-{stack}"' in blocks['discovery.docker "containers"']


# --- Grafana ----------------------------------------------------------------------------------


def test_datasources_present_with_fixed_uids(datasources):
    assert {ds["uid"] for ds in datasources.values()} == {"prometheus", "loki", "tempo", "alertmanager"}


def test_grafana_alerts_notify_through_the_stacks_alertmanager(datasources):
    """One routing tree: Grafana's contact point is the Alertmanager the Prometheus rules use."""
    alerting = load_yaml(MONITORING / "grafana" / "provisioning" / "alerting" / "alerting.yml")
    (point,) = alerting["contactPoints"]
    (receiver,) = point["receivers"]
    assert receiver["type"] == "prometheus-alertmanager"
    assert receiver["settings"]["url"] == datasources["alertmanager"]["url"] == "http://alertmanager:9093/alertmanager"
    assert alerting["policies"][0]["receiver"] == point["name"]


def test_logs_to_trace_link(datasources):
    fields = datasources["loki"]["jsonData"]["derivedFields"]
    link = next(f for f in fields if f["name"] == "trace_id")
    assert link["datasourceUid"] == "tempo"
    line = '{"event": "payin created", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}'
    match = re.search(link["matcherRegex"], line)
    assert match and match.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"
    # `$$` is Grafana's escape: a bare ${__value.raw} would be expanded as an env variable.
    assert link["url"] == "$${__value.raw}"


def test_trace_to_logs_link(datasources):
    to_logs = datasources["tempo"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki"
    assert "$${__trace.traceId}" in to_logs["query"]


def test_dashboard_provider_points_at_the_mounted_folder(compose):
    provider = load_yaml(MONITORING / "grafana/provisioning/dashboards/dashboards.yml")
    path = provider["providers"][0]["options"]["path"]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts


# --- Loki, Tempo, otel-collector --------------------------------------------------------------


def test_loki_keeps_ids_out_of_labels_and_enforces_retention():
    loki = load_yaml(MONITORING / "loki/config.yml")
    assert loki["limits_config"]["allow_structured_metadata"] is True
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["limits_config"]["retention_period"]
    assert all(c["schema"] == "v13" and c["store"] == "tsdb" for c in loki["schema_config"]["configs"])


def test_otel_collector_pipeline_is_wired_to_tempo():
    otel = load_yaml(MONITORING / "otel-collector/config.yml")
    service = otel["service"]
    for kind in ("receivers", "processors", "exporters"):
        for pipeline in service["pipelines"].values():
            for component in pipeline.get(kind, []):
                assert component in otel[kind], f"{component} used but not defined"
    assert set(service.get("extensions", [])) <= set(otel.get("extensions", {}))
    assert "otlp" in service["pipelines"]["traces"]["receivers"]
    protocols = otel["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318")  # OTEL_EXPORTER_OTLP_ENDPOINT of roles
    exporter = otel["exporters"][service["pipelines"]["traces"]["exporters"][0]]
    tempo = load_yaml(MONITORING / "tempo/config.yml")
    tempo_grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporter["endpoint"] == "tempo:" + tempo_grpc.rsplit(":", 1)[1]
    # Prometheus scrapes the collector's own metrics at otel-collector:8888; the roles reach
    # the OTLP/HTTP receiver through the monitoring Caddy (/otlp/* -> otel-collector:4318).
    reader = service["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert reader["host"] == "0.0.0.0" and reader["port"] == 8888


def test_tempo_stores_traces():
    tempo = load_yaml(MONITORING / "tempo/config.yml")
    assert tempo["storage"]["trace"]["backend"] == "local"
    assert tempo["server"]["http_listen_port"] == 3200


# --- Alloy and Caddy (text configs) -----------------------------------------------------------


def test_alloy_ships_container_logs_with_role_and_json_fields():
    text = (MONITORING / "alloy/config.alloy").read_text()
    assert text.count("{") == text.count("}"), "unbalanced braces"
    for block in ("discovery.docker", "loki.source.docker", "loki.process", "loki.write"):
        assert re.search(rf"^{re.escape(block)} \"\w+\" \{{", text, re.MULTILINE), block
    # role from the compose service label, limited to the gateway roles
    assert re.search(
        r"__meta_docker_container_label_com_docker_compose_service\"\]\s*"
        r"regex\s*=\s*\"\(api\|payment\|worker\|frontend\)\"\s*target_label\s*=\s*\"role\"",
        text,
    )
    json_stage = re.search(r"stage\.json \{(.*?)\n    \}", text, re.DOTALL).group(1)
    for field in ("level", "request_id", "trace_id"):
        assert re.search(rf"{field}\s*=\s*\"{field}\"", json_stage), field
    assert 'url = "http://loki:3100/loki/api/v1/push"' in text


def test_caddy_guards_every_route_with_basic_auth_from_env():
    text = (MONITORING / "caddy/Caddyfile").read_text()
    blocks = re.findall(r"basicauth \{\s*(\S+) (\S+)\s*\}", text)
    assert len(blocks) == 2
    for user, password_hash in blocks:
        assert user.startswith("{$") and password_hash.startswith("{$"), "literal credential"
    # nothing is proxied outside a basic-auth-guarded handle
    assert text.count("reverse_proxy") == 6
    for upstream in ("grafana:3000", "prometheus:9090", "loki:3100", "otel-collector:4318"):
        assert f"reverse_proxy {upstream}" in text
    # the ingest routes: exactly the three push endpoints, behind their own credentials
    ingest = re.search(r"@ingest path (.+)", text).group(1).split()
    assert ingest == ["/loki/api/v1/push", "/prometheus/api/v1/write", "/otlp/*"]
    assert "{$INGEST_BASIC_AUTH_USER} {$INGEST_BASIC_AUTH_HASH}" in text
