"""Hostile input (issue 14 item 3): what an attacker or a broken client sends, answered in the
§4.2 error shape with the documented code, never a 5xx, never a hung server.

In-process apps (exact bytes through `asgi_call`) for the request-level cases; real role
processes under Granian, spoken to over raw sockets, for what only a server sees: lying or
missing Content-Length, chunked bodies, header bytes on the wire, slow clients.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from core.http.app import create_app
from core.http.context import litestar_of
from core.http.inprocess import RunningApp
from core.security.attempts import counter_key
from tests.fixtures.merchants import SignedClient
from tests.fixtures.stack import eventually
from tests.fuzz.hooks import SANE_ID, Merchant, RawResponse, asgi_call, assert_error, module_merchant

MiB = 1024 * 1024
_nonces = itertools.count()
PAYIN = {
    "amount": 10_000,
    "currency": "INR",
    "reference": "hostile-0",
    "method": "upi",
    "customer": {"name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"},
}
PAYOUT = {
    "amount": 1_000,
    "currency": "INR",
    "reference": "hostile-po-0",
    "mode": "imps",
    "beneficiary": {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"},
}


@pytest.fixture(scope="module")
async def apps(settings) -> AsyncIterator[dict[str, Any]]:
    built = {role: create_app(role, settings) for role in ("api", "payment")}
    running = [RunningApp(app) for app in built.values()]
    for app in running:
        await app.start()
    yield built
    for app in running:
        await app.stop()


@pytest.fixture(scope="module")
async def merchant(resources) -> Merchant:
    return await module_merchant(resources, name="Hostile input")


async def signed(
    app: Any, merchant: Merchant, method: str, path: str, body: bytes = b"", headers: dict[str, bytes] | None = None
) -> RawResponse:
    """A correctly signed request carrying exactly `body` (whatever it is). A query nonce keeps two
    tests sending the same bytes within one second from being one replayed request."""
    path += ("&" if "?" in path else "?") + f"nonce={next(_nonces)}"
    raw = [(b"content-type", b"application/json")]
    raw += [(k.encode(), v.encode()) for k, v in merchant.sign(method, path, body).items()]
    raw += [(k.encode(), v) for k, v in (headers or {}).items()]
    return await asgi_call(app, method, path.encode(), raw, body)


# --- another merchant's objects --------------------------------------------------------------


async def test_another_merchants_objects_are_not_found(routed_merchant, clients) -> None:
    owner = await routed_merchant()
    owner_api = SignedClient(clients["api"], owner.merchant_id, owner.key_id, owner.secret)
    payin = await owner.post("/v1/payins", {**PAYIN, "reference": f"own-{owner.merchant_id}"})
    assert payin.status_code == 201, payin.text

    async def event_and_delivery() -> tuple[str, str] | None:
        events = (await owner_api.get("/v1/events")).json()["data"]
        deliveries = (await owner_api.get("/v1/webhook-deliveries")).json()["data"]
        return (events[0]["id"], deliveries[0]["id"]) if events and deliveries else None

    event_id, delivery_id = await eventually(event_and_delivery, timeout=20)  # the payin succeeded: funds
    payout = await owner.post("/v1/payouts", {**PAYOUT, "reference": f"own-po-{owner.merchant_id}"})
    assert payout.status_code == 201, payout.text
    other_payment = await routed_merchant()
    other_api = SignedClient(clients["api"], other_payment.merchant_id, other_payment.key_id, other_payment.secret)
    for client, mine, method, path in [
        (other_payment, owner, "GET", f"/v1/payins/{payin.json()['id']}"),
        (other_payment, owner, "GET", f"/v1/payouts/{payout.json()['id']}"),
        (other_api, owner_api, "GET", f"/v1/events/{event_id}"),
        (other_api, owner_api, "POST", f"/v1/webhook-deliveries/{delivery_id}/retry"),
    ]:
        assert_error(await client.request(method, path), 404, "not_found")
        # ...while the owner gets it: the 404 is about ownership, not a bad id.
        assert (await mine.request(method, path)).status_code in (200, 202), path
    listed = (await other_api.get(f"/v1/webhook-deliveries?event_id={event_id}")).json()
    assert listed["data"] == []
    listed = (await other_payment.get(f"/v1/payins?reference=own-{owner.merchant_id}")).json()
    assert listed["data"] == []


# --- unknown fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path", "body", "param"),
    [
        ("api", "/v1/echo", {"message": "x", "bogus": 1}, "bogus"),
        ("payment", "/v1/payins", {**PAYIN, "surprise": True}, "surprise"),
        ("payment", "/v1/payins", {**PAYIN, "customer": {**PAYIN["customer"], "ssn": "1"}}, "ssn"),
        ("payment", "/v1/payouts", {**PAYOUT, "beneficiary": {**PAYOUT["beneficiary"], "x": "1"}}, "x"),
    ],
)
async def test_unknown_fields_are_422_naming_the_field(apps, merchant, role, path, body, param) -> None:
    response = await signed(apps[role], merchant, "POST", path, orjson.dumps(body))
    assert_error(response, 422, "validation_error", param=param)


async def test_unknown_field_in_the_admin_api_is_422(apps, admin_token) -> None:
    body = orjson.dumps({"name": "Acme", "bogus": "x"})
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {admin_token}".encode())]
    response = await asgi_call(apps["api"], "POST", b"/admin/v1/merchants", headers, body)
    assert_error(response, 422, "validation_error", param="bogus")


# --- malformed bodies ------------------------------------------------------------------------

DEPTH = 10_000
NESTED = {
    "array": b"[" * DEPTH + b"]" * DEPTH,
    "object": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "in a string field": b'{"message": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "in an int field": b'{"message": "x", "count": {"a":' + b'{"a":' * DEPTH + b"1" + b"}" * (DEPTH + 1) + b"}",
    "unclosed": b'{"message": ' + b"[" * DEPTH,
}
HUGE = {
    "2**70": str(2**70).encode(),
    "-2**70": str(-(2**70)).encode(),
    "1e400": b"1e400",
    "-1e400": b"-1e400",
    "1e20 float": b"1e20",
}


@pytest.mark.parametrize("shape", list(NESTED))
async def test_deeply_nested_json_is_422(apps, merchant, shape) -> None:
    response = await signed(apps["api"], merchant, "POST", "/v1/echo", NESTED[shape])
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("shape", list(NESTED))
async def test_deeply_nested_json_is_422_on_payins(apps, merchant, shape) -> None:
    body = NESTED[shape].replace(b'"message"', b'"amount"')
    response = await signed(apps["payment"], merchant, "POST", "/v1/payins", body)
    assert_error(response, 422, "validation_error")


async def test_deeply_nested_json_to_the_admin_api_and_callbacks_is_refused(apps, admin_token) -> None:
    admin = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {admin_token}".encode())]
    response = await asgi_call(apps["api"], "POST", b"/admin/v1/merchants", admin, NESTED["object"])
    assert_error(response, 422, "validation_error")
    callback = await asgi_call(
        apps["payment"], "POST", b"/v1/callbacks/sandbox", [(b"content-type", b"application/json")], NESTED["array"]
    )
    assert 400 <= callback.status < 500, (callback.status, callback.body[:300])


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "\xff\xfe"}',
        b'{"message": "caf\xc3"}',
        b'{"mess\xc0\xafage": "x"}',
        b'{"message": "\xed\xa0\x80"}',  # an encoded UTF-16 surrogate
        b"\xef\xbb\xbf" + b'{"message": "x"}',  # a byte order mark
        b"\x00" * 16,
    ],
)
async def test_invalid_utf8_is_422(apps, merchant, body) -> None:
    assert_error(await signed(apps["api"], merchant, "POST", "/v1/echo", body), 422, "validation_error")


@pytest.mark.parametrize("number", list(HUGE))
async def test_huge_numbers_are_422(apps, merchant, number) -> None:
    payin = orjson.dumps(PAYIN).replace(b"10000", HUGE[number])
    response = await signed(apps["payment"], merchant, "POST", "/v1/payins", payin)
    assert_error(response, 422, "validation_error", param="amount")
    payout = orjson.dumps(PAYOUT).replace(b"1000", HUGE[number], 1)
    response = await signed(apps["payment"], merchant, "POST", "/v1/payouts", payout)
    assert_error(response, 422, "validation_error", param="amount")


async def test_numbers_json_does_not_have_are_422(apps, merchant) -> None:
    for number in (b"NaN", b"Infinity", b"-Infinity", b"0x10", b"1_000", b"+5", b"01"):
        payin = orjson.dumps(PAYIN).replace(b"10000", number)
        response = await signed(apps["payment"], merchant, "POST", "/v1/payins", payin)
        assert_error(response, 422, "validation_error")


async def test_huge_adjustment_amount_in_the_admin_api_is_422(apps, admin_token, merchant) -> None:
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {admin_token}".encode())]
    for number in HUGE.values():
        body = b'{"amount": ' + number + b', "currency": "INR", "reference": "huge", "reason": "x"}'
        path = f"/admin/v1/merchants/{merchant.merchant_id}/adjustments".encode()
        assert_error(await asgi_call(apps["api"], "POST", path, headers, body), 422, "validation_error")


# --- header injection ------------------------------------------------------------------------

INJECTIONS = [
    b"abc\r\nSet-Cookie: session=stolen",
    b"abc\nX-Injected: 1",
    b"abc\rX-Injected: 1",
    b"abc\r\n\r\n<html>",
    b"\x00abc",
    b"x" * 10_000,
]


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injected_request_id_is_replaced_not_echoed(apps, merchant, value) -> None:
    body = orjson.dumps({"message": "hi"})
    response = await signed(apps["api"], merchant, "POST", "/v1/echo", body, headers={"X-Request-Id": value})
    assert response.status == 200, response.body
    request_id = response.header("x-request-id")
    assert request_id is not None and request_id.startswith("req_") and SANE_ID.match(request_id)
    for name, header_value in response.headers:
        assert b"\r" not in header_value and b"\n" not in header_value and b"\x00" not in header_value, name
        assert b"stolen" not in header_value and b"X-Injected" not in header_value, name


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injected_idempotency_key_is_never_echoed(apps, merchant, value) -> None:
    body = orjson.dumps({"message": "hi"})
    response = await signed(apps["api"], merchant, "POST", "/v1/echo", body, headers={"Idempotency-Key": value})
    assert response.status < 500, response.body
    if response.status != 200:
        assert_error(response, 422, "validation_error", param="Idempotency-Key")
    for name, header_value in response.headers:
        assert b"\r" not in header_value and b"\n" not in header_value and b"\x00" not in header_value, name
        assert value not in header_value, name


# --- admin endpoints without a valid token ---------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/admin/v1/merchants"),
    ("POST", "/admin/v1/merchants"),
    ("GET", "/admin/v1/merchants/mer_x"),
    ("PATCH", "/admin/v1/merchants/mer_x"),
    ("POST", "/admin/v1/merchants/mer_x/keys"),
    ("DELETE", "/admin/v1/merchants/mer_x/keys/key_x"),
    ("POST", "/admin/v1/merchants/mer_x/webhook-secret"),
    ("PUT", "/admin/v1/merchants/mer_x/routes"),
    ("POST", "/admin/v1/merchants/mer_x/adjustments"),
    ("GET", "/admin/v1/ples"),
    ("POST", "/admin/v1/ples"),
    ("GET", "/admin/v1/ples/ple_x"),
    ("PATCH", "/admin/v1/ples/ple_x"),
    ("GET", "/admin/v1/settlements"),
    ("POST", "/admin/v1/settlements"),
    ("GET", "/admin/v1/reconciliation/2026-11-27"),
    ("GET", "/admin/v1/reconciliation/2026-11-27/statements"),
    ("GET", "/admin/v1/reconciliation/2026-11-27/statements.csv"),
    ("POST", "/admin/v1/reconciliation/2026-11-27/statements/apply"),
    ("GET", "/admin/v1/payouts?needs_review=true"),
    ("GET", "/admin/v1/audit"),
]


def bad_authorizations(admin_token: str) -> list[bytes | None]:
    return [
        None,
        b"",
        b"Bearer",
        b"Bearer ",
        b"Bearer wrong-token",
        b"Bearer " + admin_token.encode() + b"x",
        b"Bearer " + admin_token[:-1].encode(),
        b"bearer" + admin_token.encode(),
        b"Basic " + admin_token.encode(),
        b"Bearer " + admin_token.encode() + b"\r\nX-Admin: 1",
        b"Bearer \xff\xfe",
        b"Bearer " + b"A" * 10_000,
    ]


def test_every_admin_route_is_in_the_list(apps) -> None:
    schema = litestar_of(apps["api"]).openapi_schema.to_schema()
    declared = {(m.upper(), p) for p, ops in schema["paths"].items() if p.startswith("/admin/") for m in ops}
    listed = {(m, re.sub(r"/(mer|key|ple)_x|/2026-11-27", "/{}", p.split("?")[0])) for m, p in ADMIN_ROUTES}
    normalised = {(m, re.sub(r"/\{[^}]+\}", "/{}", p)) for m, p in declared}
    assert normalised - listed <= {("GET", "/admin/v1/settlements/report")}, normalised - listed


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_admin_routes_refuse_a_missing_or_wrong_token(apps, admin_token, resources, method, path) -> None:
    body = b'{"name": "x"}' if method in ("POST", "PATCH", "PUT") else b""
    # Failed token lookups are limited per address (429 after 20 a minute, tests/integration/
    # test_admin_access.py); each route here starts with a clean count.
    await resources.redis.delete(counter_key("admin_token", "127.0.0.1"))
    for authorization in bad_authorizations(admin_token):
        headers = [(b"content-type", b"application/json")]
        if authorization is not None:
            headers.append((b"authorization", authorization))
        response = await asgi_call(apps["api"], method, path.encode(), headers, body)
        assert_error(response, 401, "unauthorized")
    # The right token gets past authentication (whatever the handler then says).
    good = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {admin_token}".encode())]
    assert (await asgi_call(apps["api"], method, path.encode(), good, body)).status != 401


async def test_a_merchant_signature_is_no_admin_token(apps, merchant) -> None:
    response = await signed(apps["api"], merchant, "GET", "/admin/v1/merchants")
    assert_error(response, 401, "unauthorized")
