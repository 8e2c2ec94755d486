"""No default PLE secret (issue 17, item 2): generated when not given, shown once; well-known
values refused; in production a role and the sandbox refuse to start with one."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from typing import Any

import httpx
import orjson

from core.config import DEV_MASTER_KEY
from core.ids import new_id
from core.local_services import free_port
from core.resources import Resources
from core.routing import ple_config_by_id
from core.security.crypto import keyring_for, new_master_key
from core.security.dev_secrets import is_well_known
from core.storage.postgres import Database
from tests.fixtures.processes import RoleProcess

PLE_ARGS = ("ple", "create", "--provider", "sandbox", "--currency", "INR", "--base-url", "http://127.0.0.1:9")


def gateway_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "core", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


async def test_ple_create_without_secret_generates_one_and_prints_it_once(resources: Resources) -> None:
    # SANDBOX_SECRET in the environment (every .env.backend sets it) is not silently used.
    env = {"SANDBOX_SECRET": "from-the-environment-" + secrets.token_hex(8)}
    code, out, err = await asyncio.to_thread(gateway_cli, *PLE_ARGS, "--name", "Generated 1", "--json", env=env)
    assert code == 0, err[-2000:]
    first = orjson.loads(out)
    assert set(first) == {"ple_id", "secret"} and len(first["secret"]) >= 43
    assert first["secret"] != env["SANDBOX_SECRET"] and not is_well_known(first["secret"])
    assert (await ple_config_by_id(resources, first["ple_id"])).secret == first["secret"]
    assert first["secret"] not in err  # printed once, on stdout only

    code, out, err = await asyncio.to_thread(gateway_cli, *PLE_ARGS, "--name", "Generated 2", "--json")
    assert code == 0, err[-2000:]
    assert orjson.loads(out)["secret"] != first["secret"]

    chosen = "chosen-" + secrets.token_hex(16)
    code, out, err = await asyncio.to_thread(gateway_cli, *PLE_ARGS, "--name", "Chosen", "--secret", chosen, "--json")
    assert code == 0, err[-2000:]
    given = orjson.loads(out)
    assert set(given) == {"ple_id"}  # a secret the operator gave is not echoed
    assert (await ple_config_by_id(resources, given["ple_id"])).secret == chosen

    code, out, err = await asyncio.to_thread(
        gateway_cli, *PLE_ARGS, "--name", "Public", "--secret", "sandbox-dev-secret", "--json"
    )
    assert code != 0 and out == "" and "well-known" in err


async def test_admin_api_generates_a_ple_secret_and_refuses_a_well_known_one(
    api: httpx.AsyncClient, admin_headers: Any
) -> None:
    body = {"provider": "sandbox", "name": "API PLE", "currency": "INR", "base_url": "http://127.0.0.1:9"}
    created = await api.post("/admin/v1/ples", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert len(created.json()["secret"]) >= 43
    again = await api.get(f"/admin/v1/ples/{created.json()['id']}", headers=admin_headers)
    assert "secret" not in again.json()  # shown in the creating answer only
    for bad in ("sandbox-dev-secret", "Sandbox-Dev-Secret", "changeme", ""):
        refused = await api.post("/admin/v1/ples", json={**body, "secret": bad}, headers=admin_headers)
        assert refused.status_code == 422 and refused.json()["error"]["param"] == "secret", refused.text
        patched = await api.patch(f"/admin/v1/ples/{created.json()['id']}", json={"secret": bad}, headers=admin_headers)
        assert patched.status_code == 422 and patched.json()["error"]["param"] == "secret", patched.text


def production_env() -> dict[str, str]:
    # Production refuses the development master key; keep it as a second key so rows written
    # by the test session (encrypted under it) still decrypt.
    return {"ENVIRONMENT": "production", "SECRETS_MASTER_KEYS": f"{new_master_key('prod1')},{DEV_MASTER_KEY}"}


def exited(proc: RoleProcess) -> tuple[int, str]:
    """The exit code and output of a process that must refuse to start (stopped if it does not)."""
    try:
        code = proc.proc.wait(timeout=120)
        return code, proc.output()
    finally:
        proc.stop()


async def test_a_role_refuses_to_start_in_production_with_a_well_known_ple_secret(
    db: Database, resources: Resources
) -> None:
    # A PLE left by an older release with the public default (creation refuses it now).
    ple_id = new_id("ple")
    sealed = keyring_for(DEV_MASTER_KEY).encrypt("sandbox-dev-secret", f"ples:{ple_id}")
    await db.sql(
        "INSERT INTO ples (id, provider, name, currency, base_url, credentials_enc) VALUES ({}, {}, {}, {}, {}, {})",
        ple_id,
        "sandbox",
        "Old default",
        "INR",
        "http://127.0.0.1:9",
        sealed,
    )
    try:
        port = free_port()
        proc = RoleProcess(["serve", "--role", "payment", "--port", str(port)], port, production_env(), "prod-refused")
        code, output = await asyncio.to_thread(exited, proc)
        assert code == 2, output[-2000:]
        assert "start-up stopped" in output and ple_id in output and "well-known" in output
        assert "sandbox-dev-secret" not in output  # named by PLE, the secret itself is not printed
    finally:
        await db.sql("DELETE FROM ples WHERE id = {}", ple_id)
    # Without it, the same production settings start the role.
    port = free_port()
    proc = RoleProcess(["serve", "--role", "payment", "--port", str(port)], port, production_env(), "prod-starts")
    try:
        await asyncio.to_thread(proc.wait_live, "/health/live", 90)
    finally:
        proc.stop()


async def test_a_role_and_the_sandbox_refuse_a_well_known_sandbox_secret_in_production() -> None:
    env = {**production_env(), "SANDBOX_SECRET": "sandbox-dev-secret"}
    port = free_port()
    proc = RoleProcess(["serve", "--role", "api", "--port", str(port)], port, env, "prod-sandbox-secret")
    code, output = await asyncio.to_thread(exited, proc)
    assert code == 2 and "SANDBOX_SECRET" in output and "well-known" in output, output[-2000:]

    port = free_port()
    proc = RoleProcess(["sandbox", "--port", str(port)], port, env, "prod-sandbox")
    code, output = await asyncio.to_thread(exited, proc)
    assert code != 0 and "well-known" in output, output[-2000:]


async def test_the_sandbox_has_no_default_secret() -> None:
    port = free_port()
    proc = RoleProcess(["sandbox", "--port", str(port)], port, {"SANDBOX_SECRET": ""}, "sandbox-no-secret")
    code, output = await asyncio.to_thread(exited, proc)
    assert code != 0 and "--secret" in output, output[-2000:]


async def test_dev_seed_gives_the_sandbox_ple_a_generated_secret(db: Database, resources: Resources) -> None:
    from dataclasses import replace

    from core.cli.dev_seed import dev_ple

    settings = replace(resources.settings, sandbox_url=f"http://127.0.0.1:{free_port()}")
    ple_id, secret = await dev_ple(resources, settings)
    assert not is_well_known(secret) and len(secret) >= 43
    assert await dev_ple(resources, settings) == (ple_id, secret)  # the next `just dev` finds the same
    # A dev PLE left with the old public default is given a generated secret.
    await db.sql(
        "UPDATE ples SET credentials_enc = {} WHERE id = {}",
        keyring_for(DEV_MASTER_KEY).encrypt("sandbox-dev-secret", f"ples:{ple_id}"),
        ple_id,
    )
    same_id, fresh = await dev_ple(resources, settings)
    assert same_id == ple_id and not is_well_known(fresh)
    assert (await ple_config_by_id(resources, ple_id)).secret == fresh
    await db.sql("UPDATE ples SET active = false WHERE id = {}", ple_id)
