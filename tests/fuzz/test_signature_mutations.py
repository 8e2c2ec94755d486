"""Any single byte changed after signing is refused (ARCHITECTURE §4.1; issue 14 item 2).

A valid signed request (POST /v1/echo on the api role, POST /v1/payins on the payment role,
both with a query string) is first shown to succeed; hypothesis then changes one byte of the
body, the path, the query or a signed header (X-Api-Key, X-Timestamp, X-Signature), or moves
the timestamp by ±1..±10000 s, and every such request must be refused with 401 and the code the
check order gives, never 2xx, never 5xx. Requests go straight into each role's full ASGI stack
(no socket, no client normalising the bytes).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from core.http.app import create_app
from core.http.inprocess import RunningApp
from tests.fuzz.hooks import Merchant, RawResponse, asgi_call, module_merchant

TOLERANCE = 300
_references = itertools.count()
PARTS = ("body", "path", "query", "X-Api-Key", "X-Timestamp", "X-Signature", "timestamp")
FUZZ = fuzz_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
async def running_apps(settings) -> AsyncIterator[dict[str, Any]]:
    apps = {role: create_app(role, settings) for role in ("api", "payment")}
    running = [RunningApp(app) for app in apps.values()]
    for app in running:
        await app.start()
    yield apps
    for app in running:
        await app.stop()


@pytest.fixture(scope="module")
async def routed(resources, stack) -> Merchant:
    return await module_merchant(resources, stack.ple_id)


def echo_request() -> tuple[str, bytes, bytes]:
    return "POST", b"/v1/echo?probe=1", orjson.dumps({"message": "hello", "count": 3})


def payin_request() -> tuple[str, bytes, bytes]:
    body = {
        "amount": 10_000,
        "currency": "INR",
        "reference": f"mut-{time.time_ns()}-{next(_references)}",
        "method": "upi",
        "customer": {"name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"},
    }
    return "POST", b"/v1/payins?probe=1", orjson.dumps(body)


async def send_signed(
    app: Any, merchant: Merchant, method: str, target: bytes, body: bytes, mutate: Any = None
) -> RawResponse:
    signed = merchant.sign(method, target.decode(), body)
    parts: dict[str, Any] = {
        "path": target.partition(b"?")[0],
        "query": target.partition(b"?")[2],
        "body": body,
        **{k: v.encode() for k, v in signed.items()},
    }
    if mutate is not None:
        parts = mutate(parts)
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), parts[k]) for k in ("X-Api-Key", "X-Timestamp", "X-Signature")]
    target = parts["path"] + (b"?" + parts["query"] if parts["query"] else b"")
    return await asgi_call(app, method, target, headers, parts["body"])


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, Any]:
    """(what was changed, a function that changes it in the signed request's parts)."""
    part = draw(st.sampled_from(PARTS))
    if part == "timestamp":
        delta = draw(st.integers(1, 10_000)) * draw(st.sampled_from((-1, 1)))

        def shift(parts: dict[str, Any]) -> dict[str, Any]:
            return {**parts, "X-Timestamp": str(int(parts["X-Timestamp"]) + delta).encode()}

        return f"timestamp{delta:+d}", shift
    position = draw(st.floats(0, 1, exclude_max=True))
    replacement = draw(_replacement_bytes(part))

    def change_one_byte(parts: dict[str, Any]) -> dict[str, Any]:
        value: bytes = parts[part]
        index = int(position * len(value))
        new = replacement if replacement != value[index] else (replacement + 1) % 256
        if part in ("path", "query") and (not 0x21 <= new <= 0x7E or new == ord("#")):
            new = ord("A") if value[index] != ord("A") else ord("B")
        return {**parts, part: value[:index] + bytes([new]) + value[index + 1 :]}

    return part, change_one_byte


def _replacement_bytes(part: str) -> st.SearchStrategy[int]:
    if part == "body":
        return st.integers(0, 255)
    if part in ("path", "query"):
        return st.integers(0x21, 0x7E)  # what can stand in a request target on the wire
    return st.integers(0x20, 0xFF).filter(lambda b: b != 0x7F)  # header value bytes (no CR/LF/NUL)


def expected_codes(part: str, mutated: dict[str, Any], now: int) -> set[str]:
    if part == "X-Api-Key":
        return {"invalid_api_key"}
    if part.startswith("timestamp"):
        delta = abs(int(part.removeprefix("timestamp")))
        if TOLERANCE - 2 <= delta <= TOLERANCE + 2:  # the clock may tick between signing and checking
            return {"timestamp_out_of_window", "invalid_signature"}
        return {"timestamp_out_of_window"} if delta > TOLERANCE else {"invalid_signature"}
    if part == "X-Timestamp":
        text = mutated["X-Timestamp"]
        if text.isdigit() and abs(now - int(text)) > TOLERANCE + 2:
            return {"timestamp_out_of_window"}
        if text.isdigit() and abs(now - int(text)) < TOLERANCE - 2:
            return {"invalid_signature"}
        return {"timestamp_out_of_window", "invalid_signature"}
    return {"invalid_signature"}


def assert_refused(response: RawResponse, part: str, mutated: dict[str, Any], now: int) -> None:
    context = f"{part}: {mutated!r} -> {response.status} {response.body[:300]!r}"
    assert response.status < 500, context
    assert not 200 <= response.status < 300, context
    if part == "path" and response.status in (404, 405):
        return  # the changed path names no route (or not for POST): the router refuses before auth
    assert response.status == 401, context
    assert response.error_code() in expected_codes(part, mutated, now), context


async def check_mutation(app: Any, merchant: Merchant, request: tuple[str, bytes, bytes], mutation: Any) -> None:
    part, change = mutation
    seen: dict[str, Any] = {}

    def record(parts: dict[str, Any]) -> dict[str, Any]:
        seen.update(change(parts))
        return seen

    method, target, body = request
    now = int(time.time())
    response = await send_signed(app, merchant, method, target, body, record)
    assert_refused(response, part, seen, now)


async def test_the_unmutated_requests_are_accepted(running_apps, resources, routed) -> None:
    echo_merchant = await module_merchant(resources)
    echoed = await send_signed(running_apps["api"], echo_merchant, *echo_request())
    assert echoed.status == 200, echoed.body
    assert echoed.json() == {"message": "hello", "count": 3}
    created = await send_signed(running_apps["payment"], routed, *payin_request())
    assert created.status == 201, created.body
    assert created.json()["status"] == "pending"


@pytest.fixture(scope="module")
async def echo_merchant(resources) -> Merchant:
    return await module_merchant(resources)


@FUZZ
@given(mutation=mutations())
async def test_any_byte_changed_on_echo_is_refused(running_apps, echo_merchant, mutation) -> None:
    await check_mutation(running_apps["api"], echo_merchant, echo_request(), mutation)


@FUZZ
@given(mutation=mutations())
async def test_any_byte_changed_on_a_payin_is_refused(running_apps, routed, mutation) -> None:
    await check_mutation(running_apps["payment"], routed, payin_request(), mutation)
