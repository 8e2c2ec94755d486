"""Secrets reach containers as files (compose `secrets:`), never as environment variables.

`docker inspect` shows a container's environment, so every secret of the client env files is
taken out of them by ansible (stack_deploy_secrets), written to its own file and mounted; the
gateway reads `NAME_FILE` for any setting NAME (core/config.py), and OTEL_EXPORTER_OTLP_HEADERS,
which the OTLP exporter reads itself, is loaded from its file at start-up. .ci/deploy-checks.sh
runs the role for real and checks the files' modes and owners.
"""

from __future__ import annotations

import re

import pytest
import yaml
from deploy_support import CLIENTS, REPO, SECRET_KEY_RE, STACKS, URL_CREDENTIAL_RE, parse_env

from core.config import ConfigError, load_settings
from core.observability.setup import load_secret_env_files

DEFAULTS = yaml.safe_load((REPO / "ansible/roles/stack_deploy/defaults/main.yml").read_text())
SECRETS = DEFAULTS["stack_deploy_secrets"]
ENV_FILES = DEFAULTS["stack_deploy_env_files"]
GATEWAY_ROLES = ("migrate", "api", "payment", "worker", "frontend")


def test_settings_come_from_files_named_by_NAME_FILE(tmp_path):
    url = tmp_path / "database_url"
    url.write_text("postgresql://gateway:s3cret@db.internal:5432/gateway?sslmode=verify-full\n")
    keys = tmp_path / "keys"
    keys.write_text("k1:" + "A" * 43 + "=")
    settings = load_settings({"DATABASE_URL_FILE": str(url), "SECRETS_MASTER_KEYS_FILE": str(keys)})
    assert settings.database_url == "postgresql://gateway:s3cret@db.internal:5432/gateway?sslmode=verify-full"
    assert settings.secrets_master_keys == "k1:" + "A" * 43 + "="


def test_a_missing_file_or_two_sources_stop_start_up_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError) as missing:
        load_settings({"REDIS_URL_FILE": str(tmp_path / "absent")})
    assert missing.value.variable == "REDIS_URL_FILE" and "absent" in str(missing.value)
    both = tmp_path / "redis_url"
    both.write_text("redis://:x@h:6379/0")
    with pytest.raises(ConfigError) as twice:
        load_settings({"REDIS_URL": "redis://h:6379/0", "REDIS_URL_FILE": str(both)})
    assert twice.value.variable == "REDIS_URL"


def test_library_secrets_are_loaded_from_their_file(tmp_path):
    headers = tmp_path / "headers"
    headers.write_text("Authorization=Basic%20abc\n")
    env = {"OTEL_EXPORTER_OTLP_HEADERS_FILE": str(headers)}
    load_secret_env_files(env)
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Basic%20abc"


def _secret_like(name: str, value: str) -> bool:
    return bool(SECRET_KEY_RE.search(name) and not name.endswith(("_USER", "_HASH", "_FILE"))) or bool(
        URL_CREDENTIAL_RE.search(value) or name == "OTEL_EXPORTER_OTLP_HEADERS"
    )


@pytest.mark.parametrize("stack", ["app", "databases", "monitoring"])
def test_every_secret_of_a_stacks_env_files_becomes_a_compose_secret(stack):
    """A new secret variable must be listed, or it would travel in the environment (ansible strips
    every listed variable from every env file it copies; each stack mounts its own)."""
    listed = {(s["env_file"], s["var"]) for specs in SECRETS.values() for s in specs}
    listed |= {(".env.monitoring", var) for var in DEFAULTS["stack_deploy_strip_vars"]}  # alertmanager.yml only
    for client in sorted(p for p in CLIENTS.iterdir() if p.is_dir()):
        for env_file in ENV_FILES[stack]:
            for name, (value, _) in parse_env(client / env_file).items():
                if _secret_like(name, value) and value:
                    assert (env_file, name) in listed, f"{client.name}/{env_file}: {name} is not a compose secret"
    compose = yaml.safe_load((STACKS / stack / "compose.yml").read_text())
    for spec in SECRETS[stack]:
        declared = compose["secrets"][spec["name"]]["file"]
        assert declared.endswith(f"/secrets/{spec['name']}"), declared


def test_gateway_services_read_every_app_secret_from_a_file():
    compose = yaml.safe_load((STACKS / "app" / "compose.yml").read_text())
    gateway_vars = [s for s in SECRETS["app"] if s["env_file"] == ".env.backend"]
    for name in GATEWAY_ROLES:
        service = compose["services"][name]
        for spec in gateway_vars:
            assert spec["name"] in service["secrets"], (name, spec["name"])
            assert service["environment"][f"{spec['var']}_FILE"] == f"/run/secrets/{spec['name']}", name
            assert spec["var"] not in service["environment"], name


def test_no_compose_file_interpolates_a_secret_into_an_environment():
    for stack, specs in SECRETS.items():
        text = (STACKS / stack / "compose.yml").read_text()
        for spec in specs:
            assert not re.search(r"\$\{" + spec["var"] + r"\b", text), f"{stack}: ${{{spec['var']}}}"


def test_database_url_verifies_the_server_certificate():
    for client in sorted(p for p in CLIENTS.iterdir() if p.is_dir()):
        url = parse_env(client / ".env.backend")["DATABASE_URL"][0]
        assert url.endswith("?sslmode=verify-full&sslrootcert=/run/secrets/postgres_ca"), client.name
    compose = yaml.safe_load((STACKS / "app" / "compose.yml").read_text())
    assert all("postgres_ca" in compose["services"][name]["secrets"] for name in GATEWAY_ROLES)
