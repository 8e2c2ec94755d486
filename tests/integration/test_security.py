"""Request security (§4.1): every check in order, with its code, against the real stack."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

from core.signing import sign_request
from tests.fixtures.merchants import SignedClient, new_merchant


def code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def send(client: httpx.AsyncClient, m: SignedClient, method: str, path: str, body: bytes = b"", **sign_kw):
    headers = {"content-type": "application/json", **sign_request(m.key_id, m.secret, method, path, body, **sign_kw)}
    return await client.request(method, path, content=body, headers=headers)


async def test_signed_request_passes_and_unknown_key_fails(api, make_merchant) -> None:
    m = await make_merchant()
    ok = await m.post("/v1/echo", {"message": "hello"})
    assert ok.status_code == 200, ok.text
    ghost = SignedClient(api, m.merchant_id, "key_01NOTAREALKEY0000000000000", m.secret)
    response = await ghost.post("/v1/echo", {"message": "hello"})
    assert response.status_code == 401 and code(response) == "invalid_api_key"
    missing = await api.post("/v1/echo", json={"message": "hello"})
    assert missing.status_code == 401 and code(missing) == "invalid_api_key"


@pytest.mark.parametrize(("offset", "expected"), [(-301, 401), (301, 401), (-300, 200), (300, 200)])
async def test_timestamp_window_is_300_seconds(api, make_merchant, offset, expected) -> None:
    m = await make_merchant()
    body = orjson.dumps({"message": f"t{offset}"})
    response = await send(api, m, "POST", "/v1/echo", body, timestamp=int(time.time()) + offset)
    assert response.status_code == expected, response.text
    if expected == 401:
        assert code(response) == "timestamp_out_of_window"


@pytest.mark.parametrize("tamper", ["body", "path", "query", "method", "timestamp", "secret"])
async def test_anything_changed_after_signing_is_invalid_signature(api, make_merchant, tamper) -> None:
    m = await make_merchant()
    body = orjson.dumps({"message": "pay"})
    path = "/v1/echo?x=1"
    headers = sign_request(m.key_id, m.secret, "POST", path, body)
    method = "POST"
    if tamper == "body":
        body = orjson.dumps({"message": "pay more"})
    elif tamper == "path":
        path = "/v1/echo/?x=1"
    elif tamper == "query":
        path = "/v1/echo?x=2"
    elif tamper == "method":  # signed as a GET, sent as the POST the route serves
        headers = sign_request(m.key_id, m.secret, "GET", path, body)
    elif tamper == "timestamp":
        headers["X-Timestamp"] = str(int(headers["X-Timestamp"]) - 1)
    elif tamper == "secret":
        headers = sign_request(m.key_id, m.secret + "x", "POST", path, body)
    response = await api.request(method, path, content=body, headers={**headers, "content-type": "application/json"})
    assert response.status_code == 401, response.text
    assert code(response) == "invalid_signature"


async def test_the_same_signed_request_twice_is_replayed(api, make_merchant) -> None:
    m = await make_merchant()
    body = orjson.dumps({"message": "once"})
    headers = {**sign_request(m.key_id, m.secret, "POST", "/v1/echo", body), "content-type": "application/json"}
    first = await api.post("/v1/echo", content=body, headers=headers)
    second = await api.post("/v1/echo", content=body, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401 and code(second) == "replayed_request"


@pytest.mark.parametrize(
    ("whitelist", "client_ip", "allowed"),
    [
        (["203.0.113.7"], "203.0.113.7", True),
        (["203.0.113.7"], "203.0.113.8", False),
        (["198.51.100.0/24"], "198.51.100.200", True),
        (["198.51.100.0/24"], "198.51.101.1", False),
        (["2001:db8::1"], "2001:db8::1", True),
        (["2001:db8::/32"], "2001:db8:ffff::5", True),
        (["2001:db8::/32"], "2001:db9::5", False),
    ],
)
async def test_ip_whitelist(app_client, resources, whitelist, client_ip, allowed) -> None:
    created = await new_merchant(resources, ip_whitelist=whitelist)
    async with app_client("api", client_ip=client_ip) as client:
        m = SignedClient(client, created["merchant"]["id"], created["key_id"], created["secret"])
        response = await m.post("/v1/echo", {"message": "ip"})
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403 and code(response) == "ip_not_allowed"


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app_client, resources) -> None:
    created = await new_merchant(resources, ip_whitelist=["203.0.113.7"])
    ids = (created["merchant"]["id"], created["key_id"], created["secret"])
    spoof = {"X-Forwarded-For": "203.0.113.7"}
    async with app_client("api", client_ip="192.0.2.50") as direct:
        response = await SignedClient(direct, *ids).post("/v1/echo", {"message": "a"}, headers=spoof)
        assert response.status_code == 403 and code(response) == "ip_not_allowed"
    async with app_client("api", client_ip="10.9.9.9", trusted_proxies=("10.9.9.0/24",)) as proxied:
        response = await SignedClient(proxied, *ids).post("/v1/echo", {"message": "b"}, headers=spoof)
        assert response.status_code == 200, response.text
        # the client may prepend anything; only the hop the proxy appended counts
        chained = {"X-Forwarded-For": "203.0.113.7, 192.0.2.99"}
        response = await SignedClient(proxied, *ids).post("/v1/echo", {"message": "c"}, headers=chained)
        assert response.status_code == 403 and code(response) == "ip_not_allowed"


async def test_suspended_merchant_is_refused_and_reactivation_restores(api, make_merchant, admin_headers) -> None:
    m = await make_merchant()
    patch = await api.patch(f"/admin/v1/merchants/{m.merchant_id}", json={"status": "suspended"}, headers=admin_headers)
    assert patch.status_code == 200 and patch.json()["status"] == "suspended"
    from core.security.keycache import CACHE_TTL_SECONDS

    deadline = time.monotonic() + CACHE_TTL_SECONDS + 5
    while True:
        response = await m.post("/v1/echo", {"message": f"s{time.monotonic()}"})
        if response.status_code == 403:
            assert code(response) == "merchant_suspended"
            break
        assert time.monotonic() < deadline, "suspension never took effect"
        await asyncio.sleep(0.5)


async def test_two_active_keys_work_and_a_revoked_one_stops(api, make_merchant, admin_headers) -> None:
    m = await make_merchant()
    created = await api.post(f"/admin/v1/merchants/{m.merchant_id}/keys", headers=admin_headers)
    assert created.status_code == 201, created.text
    second = SignedClient(api, m.merchant_id, created.json()["id"], created.json()["secret"])
    assert (await m.post("/v1/echo", {"message": "k1"})).status_code == 200
    assert (await second.post("/v1/echo", {"message": "k2"})).status_code == 200
    third = await api.post(f"/admin/v1/merchants/{m.merchant_id}/keys", headers=admin_headers)
    assert third.status_code == 422 and "at most 2" in third.json()["error"]["message"]
    revoked = await api.delete(f"/admin/v1/merchants/{m.merchant_id}/keys/{m.key_id}", headers=admin_headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    from core.security.keycache import CACHE_TTL_SECONDS

    deadline = time.monotonic() + CACHE_TTL_SECONDS + 5
    while (await m.post("/v1/echo", {"message": f"r{time.monotonic()}"})).status_code != 401:
        assert time.monotonic() < deadline, "revoked key still works after the cache TTL"
        await asyncio.sleep(0.5)
    assert (await second.post("/v1/echo", {"message": "still"})).status_code == 200


async def test_rate_limit_answers_429_with_retry_after_and_spares_others(api, make_merchant, resources) -> None:
    from core.merchants.store import update_merchant

    noisy, quiet = await make_merchant(), await make_merchant()
    await update_merchant(resources.db, noisy.merchant_id, {"rate_limit_per_second": 1, "rate_limit_burst": 3})
    statuses = [(await noisy.post("/v1/echo", {"message": f"n{i}"})).status_code for i in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]
    limited = await noisy.post("/v1/echo", {"message": "again"})
    assert limited.status_code == 429 and code(limited) == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert [(await quiet.post("/v1/echo", {"message": f"q{i}"})).status_code for i in range(5)] == [200] * 5


async def test_admin_api_needs_a_valid_bearer_token(api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await api.get("/admin/v1/merchants", headers=headers)
        assert response.status_code == 401 and code(response) == "unauthorized"


async def test_admin_merchant_lifecycle_is_audited(api, admin_headers) -> None:
    created = await api.post(
        "/admin/v1/merchants", json={"name": "Acme", "ip_whitelist": ["10.0.0.0/8"]}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("sk_") and body["webhook_secret"].startswith("whsec_")
    merchant_id = body["id"]
    shown = (await api.get(f"/admin/v1/merchants/{merchant_id}", headers=admin_headers)).json()
    assert "secret" not in orjson.dumps(shown).decode().replace("webhook_secret", "")
    bad = await api.patch(
        f"/admin/v1/merchants/{merchant_id}", json={"ip_whitelist": ["10.0.0.0/33"]}, headers=admin_headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "ip_whitelist"
    await api.patch(f"/admin/v1/merchants/{merchant_id}", json={"ip_whitelist": ["::1"]}, headers=admin_headers)
    audit = (await api.get("/admin/v1/audit", params={"target": merchant_id}, headers=admin_headers)).json()
    actions = [e["action"] for e in audit["data"]]
    assert actions[:2] == ["merchant.updated", "merchant.created"]
    assert all(e["actor"].startswith("admin:") for e in audit["data"])
    assert body["secret"] not in orjson.dumps(audit).decode()


async def test_unknown_merchant_is_404_in_the_admin_api(api, admin_headers) -> None:
    response = await api.get("/admin/v1/merchants/mer_nothing", headers=admin_headers)
    assert response.status_code == 404 and code(response) == "not_found"
