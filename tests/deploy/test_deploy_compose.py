"""Compose stacks: schema-valid, complete, pinned, healthy, secret-free, fully configured."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import jsonschema
import pytest
from deploy_support import (
    DEMO,
    REPO,
    STACK_ENV,
    STACKS,
    compose_files,
    env_values,
    image_pinned,
    load_compose,
    parse_env,
    secret_literals,
    stack_of,
    variables_in,
)

SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
# The services the reference (infrastructure volume 4, §1.2-1.4) names, promtail -> alloy.
REFERENCE_SERVICES = {
    "app": {"api", "payment", "worker", "frontend", "caddy", "alloy", "node-exporter", "cadvisor"},
    "databases": {"postgres", "mongo", "redis", "alloy", "node-exporter", "cadvisor"},
    "monitoring": {"prometheus", "grafana", "loki", "tempo", "otel-collector", "alloy", "caddy", "alertmanager"},
}
MAIN_FILES = [p for p in compose_files() if p.name == "compose.yml"]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(STACKS)) for p in paths]


def _demo_env(path: Path) -> dict[str, str]:
    return env_values(DEMO, STACK_ENV.get(stack_of(path), (".env.stack",)))


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA)


def test_the_app_and_databases_stacks_exist():
    assert (STACKS / "app" / "compose.yml").is_file()
    assert (STACKS / "databases" / "compose.yml").is_file()
    assert (STACKS / "Dockerfile").is_file()


@pytest.mark.parametrize("path", compose_files(), ids=_ids(compose_files()))
def test_compose_file_validates_against_the_compose_spec(path):
    doc = load_compose(path, _demo_env(path))
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_schema_rejects_what_the_spec_rejects():
    bad = {"services": {"api": {"image": "x:1.0", "replicas": 2}}}  # replicas belongs in deploy
    assert list(_validator().iter_errors(bad))
    bad_condition = {"services": {"a": {"depends_on": {"b": {"condition": "healthy"}}}}}
    assert list(_validator().iter_errors(bad_condition))
    bad_health = {"services": {"a": {"healthcheck": {"test": ["CMD", "true"], "every": "5s"}}}}
    assert list(_validator().iter_errors(bad_health))
    assert not list(_validator().iter_errors({"services": {"a": {"image": "x:1.0"}}}))


@pytest.mark.parametrize("path", MAIN_FILES, ids=_ids(MAIN_FILES))
def test_stack_contains_every_service_of_the_reference(path):
    services = set(load_compose(path, _demo_env(path))["services"])
    missing = REFERENCE_SERVICES[stack_of(path)] - services
    assert not missing, f"{path.relative_to(REPO)} lacks {sorted(missing)}"


@pytest.mark.parametrize("path", MAIN_FILES, ids=_ids(MAIN_FILES))
def test_every_long_running_service_has_healthcheck_restart_and_limits(path):
    problems = []
    for name, svc in load_compose(path, _demo_env(path))["services"].items():
        if svc.get("restart") == "no":  # one-shot jobs (migrate, mongo-init)
            continue
        if svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
            problems.append(f"{name}: restart policy {svc.get('restart')!r}")
        test = (svc.get("healthcheck") or {}).get("test")
        if not test or test == ["NONE"] or svc["healthcheck"].get("disable"):
            problems.append(f"{name}: no healthcheck")
        limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if "memory" not in limits and "mem_limit" not in svc:
            problems.append(f"{name}: no memory limit")
    assert not problems, problems


@pytest.mark.parametrize("path", MAIN_FILES, ids=_ids(MAIN_FILES))
def test_every_image_is_pinned_to_an_exact_version(path):
    for name, svc in load_compose(path, _demo_env(path))["services"].items():
        assert "image" in svc or "build" in svc, f"{name} has no image"
        if "image" in svc:
            assert image_pinned(svc["image"]), f"{name}: image {svc['image']!r} is not pinned"


def test_image_pin_check_rejects_floating_tags():
    for floating in ("caddy", "caddy:latest", "caddy:2", "redis:7-alpine", "registry:5000/app"):
        assert not image_pinned(floating), floating
    for pinned in ("caddy:2.10.2-alpine", "prom/node-exporter:v1.9.1", "gcr.io/x/y:v0.52.1"):
        assert image_pinned(pinned), pinned


def test_dockerfile_base_images_are_pinned():
    text = (STACKS / "Dockerfile").read_text()
    images = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ARG ") and "IMAGE=" in line]
    images += [line.split()[1] for line in text.splitlines() if line.startswith("FROM ") and "$" not in line]
    assert images and all(image_pinned(i) for i in images), images
    assert "USER 10001:10001" in text and 'ENTRYPOINT ["gateway"]' in text and "uv sync --frozen --no-dev" in text


@pytest.mark.parametrize("path", compose_files(), ids=_ids(compose_files()))
def test_no_secret_literal_in_compose_file(path):
    assert secret_literals(path.read_text()) == []


def test_secret_literal_check_finds_literals():
    assert secret_literals("    POSTGRES_PASSWORD: hunter2\n")
    assert secret_literals("  - REDIS_URL=redis://:s3cret@redis:6379/0\n")
    assert not secret_literals("    POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n")


@pytest.mark.parametrize("path", compose_files(), ids=_ids(compose_files()))
def test_every_compose_variable_is_set_and_documented_in_the_demo_client(path):
    names = STACK_ENV.get(stack_of(path), (".env.stack",))
    env = {}
    for name in names:
        env.update(parse_env(DEMO / name))
    problems = []
    for var in sorted(variables_in(path.read_text())):
        if var not in env:
            problems.append(f"{var} not set in {' or '.join(names)}")
        elif not env[var][1]:
            problems.append(f"{var} has no comment")
    assert not problems, problems


def test_app_stack_runs_one_image_per_role_on_fintech_network():
    doc = load_compose(STACKS / "app" / "compose.yml", _demo_env(STACKS / "app" / "compose.yml"))
    roles = {r: doc["services"][r] for r in ("api", "payment", "worker", "frontend")}
    assert len({s["image"] for s in roles.values()}) == 1
    for role, svc in roles.items():
        assert svc["environment"]["ROLE"] == role
        assert "fintech-network" in svc["networks"]
        assert str(svc["deploy"]["replicas"]).isdigit()
    assert doc["networks"]["fintech-network"]["name"] == "fintech-network"
    assert int(doc["services"]["api"]["deploy"]["replicas"]) == 2  # API_REPLICAS of the demo


@pytest.mark.parametrize("path", MAIN_FILES, ids=_ids(MAIN_FILES))
def test_named_volumes_are_declared(path):
    doc = load_compose(path, _demo_env(path))
    declared = set(doc.get("volumes") or {})
    for name, svc in doc["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith(("/", ".", "~", "$")):
                assert source in declared, f"{name}: volume {source} not declared"


def test_databases_stack_has_tls_auth_and_persistence():
    base = STACKS / "databases"
    conf = (base / "postgres" / "postgresql.conf").read_text()
    assert "ssl = on" in conf
    hba = (base / "postgres" / "pg_hba.conf").read_text()
    assert "hostnossl all      all   0.0.0.0/0     reject" in hba
    redis = (base / "redis" / "redis.conf").read_text()
    assert "appendonly yes" in redis
    compose = (base / "compose.yml").read_text()
    assert "requirepass %s" in compose and "/run/secrets/redis_password" in compose
    entry = (base / "mongo" / "mongo-entrypoint.sh").read_text()
    assert "--replSet" in entry and "--keyFile" in entry and "--auth" in entry


def _images_by_name() -> dict[str, set[str]]:
    images: dict[str, set[str]] = {}
    for path in MAIN_FILES:
        for svc in load_compose(path, _demo_env(path))["services"].values():
            if "image" in svc and "${" not in svc["image"]:
                name, _, tag = svc["image"].rpartition(":")
                images.setdefault(name, set()).add(tag)
    return images


def test_an_image_used_by_several_stacks_has_one_version():
    images = _images_by_name()
    assert {"caddy", "grafana/alloy", "prom/node-exporter", "gcr.io/cadvisor/cadvisor"} <= set(images)
    split = {name: tags for name, tags in images.items() if len(tags) > 1}
    assert not split, f"one pinned version per image across the stacks: {split}"


# Variables read at run time by the configs mounted into a container: Caddy's {$VAR} and
# Alloy's sys.env("VAR"). Each must reach the container (environment or env_file) and be set and
# documented in the demo client.
CONFIG_VAR_RE = re.compile(r"\{\$([A-Z_][A-Z0-9_]*)(?::[^}]*)?\}|sys\.env\(\"([A-Z_][A-Z0-9_]*)\"\)")


def _config_vars(text: str) -> set[str]:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))
    return {a or b for a, b in CONFIG_VAR_RE.findall(body)}


@pytest.mark.parametrize("path", MAIN_FILES, ids=_ids(MAIN_FILES))
def test_every_variable_a_mounted_config_reads_reaches_its_container_and_is_documented(path):
    doc = load_compose(path, _demo_env(path))
    problems = []
    checked = 0
    for name, svc in doc["services"].items():
        mounted = [
            path.parent / vol.split(":", 1)[0]
            for vol in svc.get("volumes", [])
            if isinstance(vol, str) and vol.startswith("./")
        ]
        files = [f for m in mounted for f in ([m] if m.is_file() else sorted(m.rglob("*")) if m.is_dir() else [])]
        needed = set().union(
            *(_config_vars(f.read_text()) for f in files if f.is_file() and f.suffix in ("", ".caddy", ".alloy"))
        )
        if not needed:
            continue
        checked += 1
        env = svc.get("environment") or {}
        provided = set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
        documented: dict[str, tuple[str, bool]] = {}
        for env_file in svc.get("env_file", []):
            client_file = DEMO / Path(env_file if isinstance(env_file, str) else env_file["path"]).name
            documented.update(parse_env(client_file))
        provided |= set(documented)
        for var in sorted(needed):
            if var not in provided:
                problems.append(f"{name}: {var} read by its config but not passed to the container")
            elif var in documented and not documented[var][1]:
                problems.append(f"{name}: {var} has no comment in the demo client")
    assert checked, "no mounted config reads a variable: the check is not looking"
    assert not problems, problems


FULL_SCHEMA_PATH = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"


@pytest.mark.parametrize("path", compose_files(), ids=_ids(compose_files()))
def test_compose_file_validates_against_the_full_compose_spec(path):
    """The whole upstream compose-spec as vendored by check-jsonschema (a dev dependency), not only
    the subset kept in tests/deploy/data: secrets, tmpfs and every other key are checked too."""
    schema = json.loads(FULL_SCHEMA_PATH.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    doc = load_compose(path, _demo_env(path))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    bad = {**doc, "secrets": {"x": {"file": "./x", "mode": "0400", "owner": "me"}}}
    assert list(validator.iter_errors(bad)), "the full schema rejects unknown keys"
