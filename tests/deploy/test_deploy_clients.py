"""Client folders: every variable set and documented, placeholders only, generator works."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from deploy_support import CLIENTS, DEMO, ENV_FILES, REPO, env_values, parse_env

from core.config import DEV_MASTER_KEY, documented_variables, load_settings

GENERATOR = REPO / "scripts" / "new-client.py"
EXAMPLES = ["demo", "acme"]
SECRET_NAMES = (
    "POSTGRES_PASSWORD",
    "MONGO_INITDB_ROOT_PASSWORD",
    "MONGO_APP_PASSWORD",
    "MONGO_REPLICA_KEY",
    "REDIS_PASSWORD",
    "SECRETS_MASTER_KEYS",
    "SANDBOX_SECRET",
    "INGEST_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)


def _all_values(folder) -> dict[str, str]:
    return env_values(folder, ENV_FILES)


@pytest.mark.parametrize("client", EXAMPLES)
def test_client_folder_is_complete(client):
    folder = CLIENTS / client
    for name in ENV_FILES:
        assert (folder / name).is_file(), f"{client}/{name} missing"
    logo = (folder / f"{client}.png").read_bytes()
    assert logo.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in logo[-12:]


@pytest.mark.parametrize("client", EXAMPLES)
def test_every_variable_is_documented_with_a_comment(client):
    undocumented = [
        f"{name}:{var}"
        for name in ENV_FILES
        for var, (_, documented) in parse_env(CLIENTS / client / name).items()
        if not documented
    ]
    assert not undocumented


@pytest.mark.parametrize("client", EXAMPLES)
def test_backend_sets_every_setting_and_loads(client):
    env = parse_env(CLIENTS / client / ".env.backend")
    missing = set(documented_variables()) - set(env)
    assert not missing, f"{client}/.env.backend lacks {sorted(missing)}"
    settings = load_settings({k: v for k, (v, _) in env.items()})
    assert settings.client == client and settings.environment == "production"
    assert settings.secrets_master_keys != DEV_MASTER_KEY


def test_dashboard_branding_variables():
    env = parse_env(DEMO / ".env.dashboard")
    assert {"DASHBOARD_DISPLAY_NAME", "DASHBOARD_ACCENT_COLOR", "DASHBOARD_LOGO"} <= set(env)
    assert env["DASHBOARD_ACCENT_COLOR"][0].startswith("#")


def test_stack_env_sets_replicas_and_image():
    env = parse_env(DEMO / ".env.stack")
    for var in ("API_REPLICAS", "PAYMENT_REPLICAS", "WORKER_REPLICAS", "FRONTEND_REPLICAS"):
        assert env[var][0].isdigit(), var
    assert ":" in env["GATEWAY_IMAGE"][0] and not env["GATEWAY_IMAGE"][0].endswith(":latest")


@pytest.mark.parametrize("client", EXAMPLES)
def test_committed_secrets_are_obvious_placeholders(client):
    values = _all_values(CLIENTS / client)
    for name in SECRET_NAMES:
        value = values[name]
        if name in ("SECRETS_MASTER_KEYS", "MONGO_REPLICA_KEY"):
            value = base64.b64decode(value.rsplit(":", 1)[-1]).decode()
        assert "not-secret" in value or value.endswith("-no"), f"{client}:{name} looks real"


def _check_consistent(values: dict[str, str]) -> None:
    db = urlsplit(values["DATABASE_URL"])
    assert unquote(db.password or "") == values["POSTGRES_PASSWORD"]
    mongo = urlsplit(values["MONGO_URL"])
    assert unquote(mongo.password or "") == values["MONGO_APP_PASSWORD"]
    assert urlsplit(values["REDIS_URL"]).password == values["REDIS_PASSWORD"]


@pytest.mark.parametrize("client", EXAMPLES)
def test_urls_carry_the_database_passwords(client):
    _check_consistent(_all_values(CLIENTS / client))


def _generate(root, name="zeta", *extra, encrypt_with=None):
    sealing = ["--vault-password-file", str(encrypt_with)] if encrypt_with else ["--plaintext"]
    return subprocess.run(
        [sys.executable, str(GENERATOR), name, "--root", str(root), *sealing, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_generator_creates_a_client_with_fresh_distinct_secrets(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    assert _generate(first).returncode == 0
    assert _generate(second).returncode == 0
    demo = _all_values(DEMO)
    a = _all_values(first / "clients" / "zeta")
    b = _all_values(second / "clients" / "zeta")
    for name in ENV_FILES:
        assert (first / "clients" / "zeta" / name).stat().st_mode & 0o077 == 0, name
    assert (first / "clients" / "zeta" / "zeta.png").read_bytes().startswith(b"\x89PNG")
    secrets_a = [a[n] for n in SECRET_NAMES]
    assert len(set(secrets_a)) == len(SECRET_NAMES), "secrets repeat within one client"
    for name in SECRET_NAMES:
        assert a[name] != demo[name] and a[name] != b[name], name
        assert len(a[name]) >= 40, name
    kid, key = a["SECRETS_MASTER_KEYS"].split(":")
    assert kid and len(base64.b64decode(key, validate=True)) == 32
    assert a["CLIENT"] == "zeta" and "demo" not in a["APP_DOMAIN"]
    _check_consistent(a)
    assert set(documented_variables()) <= set(parse_env(first / "clients" / "zeta" / ".env.backend"))
    load_settings({k: v for k, (v, _) in parse_env(first / "clients" / "zeta" / ".env.backend").items()})


def test_generator_encrypts_the_env_files_with_ansible_vault(tmp_path):
    """A real client's folder can be kept in a repository: every env file is an Ansible Vault file
    that the deployment's vault password decrypts (ansible does it at copy time)."""
    password = tmp_path / "vault-password"
    password.write_text("correct horse battery staple\n")
    result = _generate(tmp_path, encrypt_with=password)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "clients" / "zeta"
    vault = str(Path(sys.executable).parent / "ansible-vault")
    plain = {}
    for name in ENV_FILES:
        assert (folder / name).read_text().startswith("$ANSIBLE_VAULT;1.1;AES256\n"), name
        shown = subprocess.run(
            [vault, "view", "--vault-password-file", str(password), str(folder / name)], capture_output=True, text=True
        )
        assert shown.returncode == 0, shown.stderr
        plain[name] = shown.stdout
    assert "DATABASE_URL=postgresql://gateway:" in plain[".env.backend"]
    password.write_text("a wrong password\n")
    wrong = subprocess.run([vault, "view", "--vault-password-file", str(password), str(folder / ".env.backend")])
    assert wrong.returncode != 0
    # Without a vault password (and without --plaintext) the generator refuses and writes nothing.
    refused = subprocess.run(
        [sys.executable, str(GENERATOR), "eta", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "ANSIBLE_VAULT_PASSWORD_FILE"},
    )
    assert refused.returncode != 0 and "ANSIBLE_VAULT_PASSWORD_FILE" in refused.stderr
    assert not (tmp_path / "clients" / "eta").exists()


def test_generator_refuses_to_overwrite_and_bad_names(tmp_path):
    assert _generate(tmp_path).returncode == 0
    again = _generate(tmp_path)
    assert again.returncode != 0 and "exists" in again.stderr
    assert _generate(tmp_path, "Bad Name").returncode != 0
    assert _generate(tmp_path, "demo").returncode != 0
    assert _generate(tmp_path, "zeta", "--force").returncode == 0


def test_generator_prints_no_secret(tmp_path):
    out = _generate(tmp_path)
    values = _all_values(tmp_path / "clients" / "zeta")
    for name in SECRET_NAMES:
        assert values[name] not in out.stdout + out.stderr


def test_restore_drill_dumps_restores_and_compares(tmp_path):
    """The dump/restore half of scripts/restore-drill.sh against the session's PostgreSQL."""
    import os
    import shutil

    url = os.environ.get("DATABASE_URL", "")
    assert url.startswith("postgres") and shutil.which("pg_dump"), "the test session provides PostgreSQL and pg_dump"
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "restore-drill.sh"), "--skip-verify"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DATABASE_URL": url},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "row counts match" in result.stderr
    bad = subprocess.run(
        ["bash", str(REPO / "scripts" / "restore-drill.sh"), "--skip-verify"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": url.rsplit("/", 1)[0] + "/no_such_db_for_drill"},
    )
    assert bad.returncode != 0


def _bcrypt_matches(password: str, hashed: str) -> bool | None:
    """None when this Python has no bcrypt-capable crypt (the stdlib module left in 3.13)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:
            return None
    result = crypt.crypt(password, hashed)
    return None if result is None else result == hashed


@pytest.mark.parametrize("client", EXAMPLES)
def test_ingest_credentials_agree_between_senders_and_the_monitoring_caddy(client):
    values = _all_values(CLIENTS / client)
    domain = values["MONITORING_DOMAIN"]
    assert values["LOKI_PUSH_URL"] == f"https://{domain}/loki/api/v1/push"
    assert values["PROMETHEUS_WRITE_URL"] == f"https://{domain}/prometheus/api/v1/write"
    assert values["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"https://{domain}/otlp"
    assert values["INGEST_USER"] == values["INGEST_BASIC_AUTH_USER"]
    pair = base64.b64encode(f"{values['INGEST_USER']}:{values['INGEST_PASSWORD']}".encode()).decode()
    assert values["OTEL_EXPORTER_OTLP_HEADERS"] == f"Authorization=Basic%20{pair}"
    for name in ("INGEST_BASIC_AUTH_HASH", "MONITORING_BASIC_AUTH_HASH"):
        assert values[name].startswith("$2"), f"{client}: {name} is not a bcrypt hash"
    if _bcrypt_matches(values["INGEST_PASSWORD"], values["INGEST_BASIC_AUTH_HASH"]) is False:
        pytest.fail(f"{client}: INGEST_BASIC_AUTH_HASH is not the hash of INGEST_PASSWORD")
