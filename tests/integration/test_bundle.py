"""The function bundle: roles as real processes, discovery, config errors, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import orjson
import pytest

from core.local_services import free_port, wait_for


def gateway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_role_answers_live_as_a_real_process(start_role) -> None:
    procs = {role: start_role(role, wait=False) for role in ("api", "payment", "worker", "frontend")}
    for role, proc in procs.items():
        proc.wait_live()
        body = httpx.get(proc.url + "/health/live").json()
        assert body == {"status": "ok"}, role
        metrics = httpx.get(proc.url + "/metrics")
        assert metrics.status_code == 200 and "gateway_http_requests_total" in metrics.text, role


def test_payment_ready_names_redis_when_it_stops_and_recovers(start_role, tmp_path) -> None:
    port = free_port()
    redis_cmd = [
        "redis-server",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    wait_for("127.0.0.1", port, "redis")
    role = start_role("payment", env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    try:
        assert httpx.get(role.url + "/health/ready").status_code == 200
        redis.terminate()
        redis.wait()
        down = httpx.get(role.url + "/health/ready", timeout=10)
        assert down.status_code == 503
        assert down.json()["failed"] == ["redis"]
        redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
        wait_for("127.0.0.1", port, "redis")
        deadline = time.monotonic() + 10
        while httpx.get(role.url + "/health/ready", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "payment never became ready again after Redis returned"
            time.sleep(0.2)
    finally:
        redis.terminate()
        redis.wait()


def test_config_error_stops_start_up_naming_the_variable() -> None:
    result = gateway("serve", "--role", "payment", env={"SIGNATURE_TOLERANCE_SECONDS": "soon"})
    assert result.returncode == 2
    assert "SIGNATURE_TOLERANCE_SECONDS" in result.stderr
    result = gateway("serve", "--role", "payment", env={"DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr


def test_functions_json_lists_every_function_and_job_with_role() -> None:
    result = gateway("functions", "--json")
    assert result.returncode == 0, result.stderr
    rows = orjson.loads(result.stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["health.live"]["role"] == "all" and by_name["health.live"]["path"] == "/health/live"
    assert by_name["system.echo"] == {
        "name": "system.echo",
        "kind": "function",
        "role": "api",
        "roles": ["api"],
        "method": "POST",
        "path": "/v1/echo",
        "module": "functions.system.echo",
    }
    assert by_name["measure_queue"]["kind"] == "job" and by_name["measure_queue"]["role"] == "worker"
    modules = {row["module"] for row in rows}
    on_disk = {
        "functions." + str(p.relative_to("functions").with_suffix("")).replace("/", ".")
        for p in __import__("pathlib").Path("functions").rglob("*.py")
        if not p.name.startswith("_")
    }
    assert on_disk <= modules


def test_invoke_prints_status_headers_body_and_timing() -> None:
    result = gateway("invoke", "health.live")
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    assert set(out) == {"status", "headers", "body", "elapsed_ms"}
    assert out["status"] == 200 and out["body"] == {"status": "ok"}
    assert out["headers"]["x-request-id"].startswith("req_")
    created = orjson.loads(gateway("merchant", "create", "--name", "Invoker", "--json").stdout)
    assert set(created) == {"merchant_id", "key_id", "secret", "webhook_secret"}
    mid = created["merchant_id"]
    echoed = orjson.loads(gateway("invoke", "system.echo", "--merchant", mid, "--json", '{"message": "hi"}').stdout)
    assert echoed["status"] == 200 and echoed["body"] == {"message": "hi", "count": 1}
    bad = orjson.loads(gateway("invoke", "system.echo", "--merchant", mid, "--json", '{"nope": 1}').stdout)
    assert bad["status"] == 422 and bad["body"]["error"]["param"] == "nope"
    unsigned = orjson.loads(gateway("invoke", "system.echo", "--json", '{"message": "hi"}').stdout)
    assert unsigned["status"] == 401 and unsigned["body"]["error"]["code"] == "invalid_api_key"


def test_invoke_job_runs_a_job_once_with_a_real_context() -> None:
    result = gateway("invoke-job", "measure_queue", "--kwargs", "{}")
    assert result.returncode == 0, result.stderr
    out = orjson.loads(result.stdout)
    assert set(out["result"]) == {"queued", "oldest_age_seconds"}
    assert gateway("invoke-job", "no_such_job").returncode != 0


def test_migrate_is_idempotent() -> None:
    for _ in range(2):
        result = gateway("migrate", "--json")
        assert result.returncode == 0, result.stderr
        assert orjson.loads(result.stdout) == {"postgres": "ok", "mongo": "ok"}


@pytest.mark.parametrize("role", ["api", "payment"])
async def test_schema_is_served_on_api_and_payment(clients, role) -> None:
    response = await clients[role].get("/schema")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
