"""Admin tokens and revocation (issue 17, item 7) against real role processes.

Two api replicas share PostgreSQL and Redis as production replicas do; tokens are made with
the real `gateway admin create-token` command.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from core.errors import ApiError
from core.local_services import free_port
from core.resources import Resources
from core.security import admin_tokens
from core.security.attempts import counter_key
from core.storage.postgres import Database
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.processes import RoleProcess


def gateway_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "core", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def new_token(*args: str) -> str:
    code, out, err = gateway_cli("admin", "create-token", "--name", "item-7", *args, "--json")
    assert code == 0, err[-2000:]
    answer = orjson.loads(out)
    assert set(answer) == {"token"}  # exactly the §11 answer; scopes and expiry are told on stderr
    return str(answer["token"])


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[RoleProcess, RoleProcess]]:
    ports = free_port(), free_port()
    procs = [RoleProcess(["serve", "--role", "api", "--port", str(p)], p, {}, "api") for p in ports]
    try:
        for proc in procs:
            proc.wait_live(seconds=90)
        yield procs[0], procs[1]
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refused_within(check: Any, seconds: float) -> float:
    """Seconds until `check()` is true, polling; fails when it is not within `seconds`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not refused within {seconds} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_revocation_and_suspension_reach_the_other_replica_within_2_seconds(
    replicas: tuple[RoleProcess, RoleProcess], resources: Resources, http: httpx.AsyncClient, admin_token: str
) -> None:
    a, b = replicas
    created = await new_merchant(resources, "Two replicas")
    merchant_id, key_id = created["merchant"]["id"], created["key_id"]
    at_a = SignedClient(httpx.AsyncClient(base_url=a.url), merchant_id, key_id, created["secret"])
    at_b = SignedClient(httpx.AsyncClient(base_url=b.url), merchant_id, key_id, created["secret"])
    # Both replicas have the key cached (the fallback TTL is 10 s, far beyond the 2 s allowed).
    assert (await at_a.post("/v1/echo", {"message": "warm a"})).status_code == 200
    assert (await at_b.post("/v1/echo", {"message": "warm b"})).status_code == 200

    revoked = await http.delete(f"{a.url}/admin/v1/merchants/{merchant_id}/keys/{key_id}", headers=bearer(admin_token))
    assert revoked.status_code == 200, revoked.text

    async def b_refuses_key() -> bool:
        response = await at_b.post("/v1/echo", {"message": f"after revoke {time.monotonic()}"})
        assert response.status_code in (200, 401), response.text
        return response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"

    await refused_within(b_refuses_key, 2.0)

    # Suspending a merchant travels the same way.
    other = await new_merchant(resources, "Suspended on the other replica")
    oid = other["merchant"]["id"]
    other_b = SignedClient(httpx.AsyncClient(base_url=b.url), oid, other["key_id"], other["secret"])
    assert (await other_b.post("/v1/echo", {"message": "warm"})).status_code == 200
    patched = await http.patch(
        f"{a.url}/admin/v1/merchants/{oid}", json={"status": "suspended"}, headers=bearer(admin_token)
    )
    assert patched.status_code == 200, patched.text

    async def b_refuses_merchant() -> bool:
        response = await other_b.post("/v1/echo", {"message": f"after suspend {time.monotonic()}"})
        return response.status_code == 403 and response.json()["error"]["code"] == "merchant_suspended"

    await refused_within(b_refuses_merchant, 2.0)
    for client in (at_a, at_b, other_b):
        await client.client.aclose()


async def test_each_admin_function_needs_its_scope(
    db: Database, replicas: tuple[RoleProcess, RoleProcess], http: httpx.AsyncClient
) -> None:
    api = replicas[0].url
    read = await asyncio.to_thread(new_token, "--scope", "read")  # the CLI's flag, end to end
    write, ops = [(await admin_tokens.create_admin_token(db, "item-7", (scope,))).token for scope in ("write", "ops")]
    full = (await admin_tokens.create_admin_token(db, "item-7")).token  # as tokens made before scopes existed
    merchant = {"name": "Scoped"}
    ple = {"provider": "sandbox", "name": "Scoped PLE", "currency": "INR", "base_url": "http://127.0.0.1:9"}

    async def status(method: str, path: str, token: str, body: Any = None) -> tuple[int, str | None]:
        response = await http.request(method, f"{api}{path}", json=body, headers=bearer(token))
        code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
        return response.status_code, code

    denied = (403, "insufficient_scope")
    assert (await status("GET", "/admin/v1/merchants", read))[0] == 200
    assert await status("POST", "/admin/v1/merchants", read, merchant) == denied
    assert await status("POST", "/admin/v1/ples", read, ple) == denied
    assert await status("GET", "/admin/v1/merchants", write) == denied
    assert (await status("POST", "/admin/v1/merchants", write, merchant))[0] == 201
    assert await status("POST", "/admin/v1/ples", write, ple) == denied
    assert await status("GET", "/admin/v1/audit", ops) == denied
    assert await status("POST", "/admin/v1/merchants", ops, merchant) == denied
    assert (await status("POST", "/admin/v1/ples", ops, ple))[0] == 201
    for method, path, body in (
        ("GET", "/admin/v1/merchants", None),
        ("POST", "/admin/v1/merchants", merchant),
        ("POST", "/admin/v1/ples", ple),
    ):
        assert (await status(method, path, full, body))[0] in (200, 201)


def test_every_admin_function_declares_a_known_scope() -> None:
    from core.registry import discover_functions

    admin = [spec for spec in discover_functions() if spec.path.startswith("/admin/")]
    assert len(admin) >= 19
    undeclared = [spec.name for spec in admin if spec.handler.opt.get("admin_scope") not in admin_tokens.SCOPES]
    assert undeclared == []


async def test_an_expired_token_stops_working_even_when_cached(
    replicas: tuple[RoleProcess, RoleProcess], http: httpx.AsyncClient
) -> None:
    api = replicas[1].url
    token = await asyncio.to_thread(new_token, "--scope", "read", "--expires-in", "3s")
    assert (await http.get(f"{api}/admin/v1/merchants", headers=bearer(token))).status_code == 200
    await asyncio.sleep(3.5)
    response = await http.get(f"{api}/admin/v1/merchants", headers=bearer(token))
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    code, _, err = await asyncio.to_thread(gateway_cli, "admin", "create-token", "--name", "x", "--expires-in", "soon")
    assert code != 0 and "--expires-in" in err


async def test_bogus_tokens_are_rate_limited_per_client_address(
    replicas: tuple[RoleProcess, RoleProcess], resources: Resources, http: httpx.AsyncClient, admin_token: str
) -> None:
    api = replicas[0].url
    counter = counter_key("admin_token", "127.0.0.1")
    await resources.redis.delete(counter)
    try:
        answers = [
            await http.get(f"{api}/admin/v1/merchants", headers=bearer(f"gwadm_bogus{i:04d}"))
            for i in range(admin_tokens.FAILURES_PER_ADDRESS + 5)
        ]
        codes = [r.json()["error"]["code"] for r in answers]
        assert codes[: admin_tokens.FAILURES_PER_ADDRESS] == ["unauthorized"] * admin_tokens.FAILURES_PER_ADDRESS
        assert codes[admin_tokens.FAILURES_PER_ADDRESS :] == ["rate_limited"] * 5
        assert all(r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 for r in answers[-5:])
    finally:
        await resources.redis.delete(counter)


async def test_the_token_cache_holds_only_verified_tokens_and_is_bounded(
    resources: Resources, admin_token: str
) -> None:
    admin_tokens.forget_all()
    for i in range(3000):  # unknown tokens from many addresses: none may take a cache slot
        ip = f"198.18.{i // 250}.{i % 250}"
        with pytest.raises(ApiError) as refused:
            await admin_tokens.authenticate_admin(resources.db, f"Bearer gwadm_flood{i}", redis=resources.redis, ip=ip)
        assert refused.value.code == "unauthorized"
    assert admin_tokens.cache_size() == 0
    tokens = [
        await admin_tokens.create_admin_token(resources.db, f"bulk-{i}", ("read",))
        for i in range(admin_tokens.MAX_CACHED + 20)
    ]
    for made in tokens:
        await admin_tokens.authenticate_admin(
            resources.db, f"Bearer {made.token}", redis=resources.redis, ip="198.19.0.1"
        )
    assert admin_tokens.cache_size() == admin_tokens.MAX_CACHED
    await resources.redis.delete(*[counter_key("admin_token", f"198.18.{i // 250}.{i % 250}") for i in range(3000)])
