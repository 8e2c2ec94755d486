"""Strict forms, replay memory and SSRF (issue 17, items 8, 9, 10) against real role processes.

One api role runs with a 2 s signature tolerance (so the replay window can be lived through)
and private webhook targets refused, as in production.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from core import ledger
from core.local_services import free_port
from core.resources import Resources
from core.routing import create_ple
from core.sandbox.signing import SIGNATURE_HEADER
from core.security.outbound import is_global_address
from core.signing import sign_request, signature
from tests.fixtures.merchants import new_merchant
from tests.fixtures.processes import RoleProcess
from tests.integration.sandbox_fixtures import SandboxProcess

TOLERANCE = 2
NON_ASCII_64 = "é".encode() * 32  # 64 bytes on the wire, 64 non-ASCII characters as decoded


@pytest.fixture(scope="module")
def roles() -> Iterator[dict[str, RoleProcess]]:
    api_port, payment_port = free_port(), free_port()
    env = {"SIGNATURE_TOLERANCE_SECONDS": str(TOLERANCE), "ALLOW_PRIVATE_WEBHOOK_TARGETS": "false"}
    procs = {
        "api": RoleProcess(["serve", "--role", "api", "--port", str(api_port)], api_port, env, "api-strict"),
        "payment": RoleProcess(["serve", "--role", "payment", "--port", str(payment_port)], payment_port, env, "pay"),
    }
    try:
        for proc in procs.values():
            proc.wait_live(seconds=90)
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_a_future_dated_signature_is_remembered_until_its_window_ends(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient
) -> None:
    created = await new_merchant(resources, "Replay")
    url = roles["api"].url + "/v1/echo"
    for attempt in range(3):
        await asyncio.sleep(1.05 - time.time() % 1)  # just after a second starts: t0
        started = time.time()
        ts = int(started) + TOLERANCE  # as far ahead as the window allows
        body = orjson.dumps({"message": f"future {attempt}"})
        headers = {**sign_request(created["key_id"], created["secret"], "POST", "/v1/echo", body, ts)}
        headers["content-type"] = "application/json"
        first = await http.post(url, content=body, headers=headers)
        assert first.status_code == 200, first.text
        # 2 x tolerance later a memory of exactly 2 x tolerance has lapsed, but the timestamp is
        # still inside the window until the second t0 + 2 x tolerance + 1 begins.
        await asyncio.sleep(2 * TOLERANCE + 0.25 - (time.time() - started))
        again = await http.post(url, content=body, headers=headers)
        assert again.status_code == 401, f"the replay was accepted: {again.text}"
        if code(again) == "timestamp_out_of_window":  # this machine was too slow to test the edge; again
            continue
        assert code(again) == "replayed_request", again.text
        return
    pytest.fail("could not send the replay inside the window in three tries")


async def test_x_timestamp_is_ascii_digits_only(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient
) -> None:
    created = await new_merchant(resources, "Timestamps")
    now = str(int(time.time()))
    body = b'{"message": "ts"}'
    for variant in (f"+{now}", f"0{now}", f"{now[:4]}_{now[4:]}", f"{now}.0", "١٧٩٥٠٠٠٠٠٠"):
        sig = signature(created["secret"], variant, "POST", "/v1/echo", body)  # correctly signed as sent
        headers = [
            (b"X-Api-Key", created["key_id"].encode()),
            (b"X-Timestamp", variant.encode()),
            (b"X-Signature", sig.encode()),
            (b"content-type", b"application/json"),
        ]
        response = await http.post(roles["api"].url + "/v1/echo", content=body, headers=headers)
        assert response.status_code == 401 and code(response) == "timestamp_out_of_window", (variant, response.text)


async def test_x_signature_is_exactly_64_lowercase_hex(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient
) -> None:
    created = await new_merchant(resources, "Signatures")
    for n, mangle in enumerate(
        (
            lambda s: s.upper().encode(),
            lambda s: s[:63].encode(),
            lambda s: (s + "0").encode(),
            lambda s: NON_ASCII_64,
            lambda s: s[:62].encode() + "é".encode(),
        )
    ):
        body = orjson.dumps({"message": f"sig {n}"})
        signed = sign_request(created["key_id"], created["secret"], "POST", "/v1/echo", body)
        headers = [
            (b"X-Api-Key", signed["X-Api-Key"].encode()),
            (b"X-Timestamp", signed["X-Timestamp"].encode()),
            (b"X-Signature", mangle(signed["X-Signature"])),
            (b"content-type", b"application/json"),
        ]
        response = await http.post(roles["api"].url + "/v1/echo", content=body, headers=headers)
        assert response.status_code == 401 and code(response) == "invalid_signature", (n, response.text)


async def test_a_non_ascii_provider_signature_is_401_at_the_callback_and_in_the_sandbox(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient
) -> None:
    await create_ple(
        resources,
        provider="sandbox",
        name="Callback signatures",
        currency="INR",
        base_url="http://127.0.0.1:9",
        secret=None,
        fee_schedule={},
        actor="test",
    )
    body = orjson.dumps({"event_id": "evt_x", "event_type": "payin.paid", "object": "payin", "object_id": "pi_x"})
    for value in (NON_ASCII_64, "é".encode("latin-1") * 64, b"A" * 64):
        response = await http.post(
            roles["payment"].url + "/v1/callbacks/sandbox",
            content=body,
            headers=[(SIGNATURE_HEADER.encode(), value), (b"content-type", b"application/json")],
        )
        assert response.status_code == 401 and code(response) == "invalid_signature", response.text

    sandbox = SandboxProcess([], secret=secrets.token_urlsafe(32))
    try:
        await sandbox.wait_ready()
        response = await sandbox.http.post(
            "/v1/payins", content=b"{}", headers=[(SIGNATURE_HEADER.encode(), NON_ASCII_64)]
        )
        assert response.status_code == 401, response.text
    finally:
        await sandbox.stop()


async def test_admin_text_fields_refuse_control_characters(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    api = roles["api"].url
    created = await new_merchant(resources, "Text fields")
    mid = created["merchant"]["id"]
    ple = {"provider": "sandbox", "currency": "INR", "base_url": "http://127.0.0.1:9"}
    adjust = f"/admin/v1/merchants/{mid}/adjustments"
    money = {"amount": 100, "currency": "INR"}
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/admin/v1/merchants", {"name": "Acme\n"}, "name"),
        ("POST", "/admin/v1/merchants", {"name": "Acme\u202egnp.exe"}, "name"),
        ("POST", "/admin/v1/merchants", {"name": "Ac\x00me"}, "name"),
        ("POST", "/admin/v1/merchants", {"name": "Acme", "ip_whitelist": ["203.0.113.7\n"]}, "ip_whitelist"),
        ("POST", "/admin/v1/merchants", {"name": "Acme", "webhook_url": "https://exa\tmple.com/hook"}, "webhook_url"),
        ("PATCH", f"/admin/v1/merchants/{mid}", {"name": "Renamed\r\n"}, "name"),
        ("POST", "/admin/v1/ples", {**ple, "name": "P\n"}, "name"),
        ("POST", "/admin/v1/ples", {**ple, "name": "P", "base_url": "http://127.0.0.1:9/\n"}, "base_url"),
        ("POST", adjust, {**money, "reference": "R\n", "reason": "x"}, "reference"),
        ("POST", adjust, {**money, "reference": "R", "reason": "x\x07"}, "reason"),
    ]  # fmt: skip
    for method, path, body, param in cases:
        response = await http.request(method, api + path, json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("validation_error", param), (body, error)


async def test_an_adjustment_reference_posts_once_and_never_answers_for_another_amount(
    roles: dict[str, RoleProcess], resources: Resources, http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await new_merchant(resources, "Adjusted")
    url = f"{roles['api'].url}/admin/v1/merchants/{created['merchant']['id']}/adjustments"
    body = {"amount": 10_000, "currency": "INR", "reference": "R", "reason": "goodwill"}
    first = await http.post(url, json=body, headers=admin_headers)
    assert first.status_code == 201 and first.json()["replayed"] is False, first.text
    same = await http.post(url, json=body, headers=admin_headers)
    assert same.status_code == 201 and same.json()["replayed"] is True and same.json()["id"] == first.json()["id"]
    for changed in ({"amount": 99_999}, {"reason": "another reason"}, {"reference": "R\n"}):
        response = await http.post(url, json={**body, **changed}, headers=admin_headers)
        if "reference" in changed:  # `R\n` is not another reference: it is refused outright
            assert response.status_code == 422 and code(response) == "validation_error", response.text
        else:
            assert response.status_code == 409 and code(response) == "duplicate_reference", response.text
            assert response.json()["error"]["existing_id"] == first.json()["id"]
    balances = await ledger.merchant_balances(resources.db, created["merchant"]["id"])
    assert [b["available"] for b in balances if b["currency"] == "INR"] == [10_000]


UNROUTABLE = (
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://[2002:a9fe:a9fe::]/hook",  # 6to4 of 169.254.169.254
    "https://[fec0::1]/hook",  # site-local
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
    "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
    "https://[::127.0.0.1]/hook",  # IPv4-compatible loopback
    "https://[ff02::1]/hook",  # multicast
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://198.18.0.1/hook",  # benchmarking
)


async def test_webhook_urls_must_be_globally_routable(
    roles: dict[str, RoleProcess], http: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    url = roles["api"].url + "/admin/v1/merchants"
    for target in UNROUTABLE:
        response = await http.post(url, json={"name": "SSRF", "webhook_url": target}, headers=admin_headers)
        assert response.status_code == 422, (target, response.text)
        assert response.json()["error"]["param"] == "webhook_url"
    for target in ("https://[2606:4700:4700::1111]/hook", "https://[64:ff9b::808:808]/hook", "https://1.1.1.1/hook"):
        response = await http.post(url, json={"name": "Public", "webhook_url": target}, headers=admin_headers)
        assert response.status_code == 201, (target, response.text)


@pytest.mark.parametrize(
    ("address", "routable"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("2002:808:808::1", True),  # 6to4 of a public address
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", False),
        ("2002:a9fe:a9fe::", False),
        ("2002:c0a8:101::", False),  # 6to4 of 192.168.1.1
        ("64:ff9b::7f00:1", False),
        ("64:ff9b:1::1", False),  # local-use NAT64
        ("2001::1", False),
        ("fec0::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::1", False),
        ("::", False),
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("5f00::1", False),
        ("0.0.0.0", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("10.1.2.3", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("192.0.0.9", False),
        ("192.0.2.1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_global_routability_table(address: str, routable: bool) -> None:
    assert is_global_address(ipaddress.ip_address(address)) is routable
