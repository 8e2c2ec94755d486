"""The dashboard's sign-in lockout under a concurrent burst, its Content-Security-Policy and its
session cookie lifetime (issue 17, items 5 and 12), against a real frontend process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from core.dashboard import sessions
from core.local_services import free_port
from core.resources import Resources
from core.security import signin_lockout
from tests.fixtures.processes import RoleProcess
from tests.integration.test_dashboard import PASSWORD, csrf_of, new_user

NONCE = re.compile(r'<style nonce="([^"]+)">')
MAX_AGE = re.compile(r"max-age=(\d+)", re.I)


@pytest.fixture(scope="module")
def frontend() -> Iterator[RoleProcess]:
    port = free_port()
    proc = RoleProcess(["serve", "--role", "frontend", "--port", str(port)], port, {}, "frontend-hardening")
    try:
        proc.wait_live(seconds=90)
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def browser(frontend: RoleProcess) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=frontend.url, timeout=60, limits=limits) as client:
        yield client


async def test_thirty_wrong_passwords_and_the_right_one_in_one_burst_lock_the_right_one_out(
    browser: httpx.AsyncClient, make_merchant: object, resources: Resources
) -> None:
    merchant = await make_merchant()  # type: ignore[operator]
    email = await new_user(resources.db, merchant_id=merchant.merchant_id)
    form = await browser.get("/signin")
    token = csrf_of(form.text)

    async def attempt(password: str) -> int:
        answer = await browser.post("/signin", data={"email": email, "password": password, "csrf_token": token})
        return answer.status_code

    wrong = [asyncio.create_task(attempt(f"wrong password {i}")) for i in range(30)]
    # The right password follows once the server has taken in the first wrong ones, while their
    # (deliberately slow) password checks are still running. Counting first is the fix: a
    # lockout that counts only after a failed check has nothing counted at this point.
    deadline = asyncio.get_running_loop().time() + 15
    while (
        await signin_lockout.attempts_counted(resources.redis, email, "127.0.0.1") < signin_lockout.ATTEMPTS_BEFORE_LOCK
    ):
        assert asyncio.get_running_loop().time() < deadline, "attempts are not counted before the password check"
        await asyncio.sleep(0.005)
    right = await attempt(PASSWORD)
    statuses = await asyncio.gather(*wrong)
    assert right == 429
    # Only the attempts counted before the lock had their password checked.
    assert statuses.count(401) <= signin_lockout.ATTEMPTS_BEFORE_LOCK
    assert set(statuses) <= {401, 429}


async def test_every_page_sends_its_own_content_security_policy(browser: httpx.AsyncClient) -> None:
    first, second = await browser.get("/signin"), await browser.get("/signin")
    policies = [r.headers["content-security-policy"] for r in (first, second)]
    nonces = [NONCE.search(r.text).group(1) for r in (first, second)]  # type: ignore[union-attr]
    assert nonces[0] != nonces[1]  # a fresh nonce per response
    for policy, nonce in zip(policies, nonces, strict=True):
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["style-src"] == f"'nonce-{nonce}'"  # the page's one style block, nothing inline else
        assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
        assert directives["form-action"] == "'self'" and "script-src" not in directives
    refused = await browser.post("/signin", data={"email": "x@example.com", "password": "p"})  # the 403 error page
    assert refused.status_code == 403 and "'nonce-" in refused.headers["content-security-policy"]


async def test_the_anonymous_session_cookie_lives_as_long_as_the_session(
    frontend: RoleProcess, resources: Resources, make_merchant: object
) -> None:
    async with httpx.AsyncClient(base_url=frontend.url, timeout=60) as client:
        form = await client.get("/signin")
        anonymous = form.cookies[sessions.COOKIE]
        cookie_age = int(MAX_AGE.search(form.headers["set-cookie"]).group(1))  # type: ignore[union-attr]
        server_age = await resources.redis.ttl(f"gw:session:{anonymous}")
        assert cookie_age == sessions.ANON_TTL and 0 <= sessions.ANON_TTL - server_age <= 60

        merchant = await make_merchant()  # type: ignore[operator]
        email = await new_user(resources.db, merchant_id=merchant.merchant_id)
        signed = await client.post(
            "/signin", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
        )
        assert signed.status_code == 303
        session_id = signed.cookies[sessions.COOKIE]
        assert session_id != anonymous
        cookie_age = int(MAX_AGE.search(signed.headers["set-cookie"]).group(1))  # type: ignore[union-attr]
        server_age = await resources.redis.ttl(f"gw:session:{session_id}")
        assert cookie_age == sessions.SESSION_TTL and 0 <= sessions.SESSION_TTL - server_age <= 60
