"""The §4.2 baseline every function gets: error shape, request ids, role separation."""

from __future__ import annotations

import pytest


def assert_error(response, status: int, code: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    if param is None:
        assert "param" not in error
    else:
        assert error["param"] == param
    assert "Traceback" not in response.text
    return error


async def test_unknown_route_is_not_found(api) -> None:
    assert_error(await api.get("/v1/nothing-here"), 404, "not_found")


async def test_unknown_field_is_named(make_merchant) -> None:
    m = await make_merchant()
    assert_error(await m.post("/v1/echo", {"message": "x", "colour": "red"}), 422, "validation_error", "colour")


async def test_missing_and_mistyped_fields_are_named(make_merchant) -> None:
    m = await make_merchant()
    assert_error(await m.post("/v1/echo", {}), 422, "validation_error", "message")
    assert_error(await m.post("/v1/echo", {"message": 5}), 422, "validation_error", "message")
    assert_error(await m.post("/v1/echo", {"message": "x", "count": 1.5}), 422, "validation_error", "count")


@pytest.mark.parametrize("body", [b"{bad", b"", b"[1,2", '{"message": "\xff"}'.encode("latin-1")])
async def test_malformed_json_is_a_validation_error(make_merchant, body) -> None:
    m = await make_merchant()
    assert_error(await m.post("/v1/echo", raw=body), 422, "validation_error")


async def test_oversized_body_is_413(make_merchant, api) -> None:
    m = await make_merchant()
    body = b'{"message": "' + b"a" * (1024 * 1024) + b'"}'
    assert_error(await m.post("/v1/echo", raw=body), 413, "payload_too_large")
    assert_error(await api.post("/v1/echo", content=body), 413, "payload_too_large")


async def test_wrong_method_is_405_in_the_error_shape(make_merchant) -> None:
    m = await make_merchant()
    assert_error(await m.get("/v1/echo"), 405, "method_not_allowed")


async def test_request_id_is_echoed_when_sane_and_replaced_when_not(api) -> None:
    ok = await api.get("/health/live", headers={"X-Request-Id": "merchant-req-42"})
    assert ok.headers["x-request-id"] == "merchant-req-42"
    insane = await api.get("/health/live", headers={"X-Request-Id": "bad id\twith spaces" + "x" * 200})
    assert insane.headers["x-request-id"].startswith("req_")


async def test_a_role_serves_only_its_own_functions(make_merchant, payment) -> None:
    m = await make_merchant()
    assert (await m.post("/v1/echo", {"message": "x"})).status_code == 200
    assert_error(await payment.post("/v1/echo", json={"message": "x"}), 404, "not_found")
    ready = await payment.get("/health/ready")
    assert ready.status_code == 200, ready.text


@pytest.mark.parametrize("value", ["0.5", "1796006654", "-3", "1e9"])
async def test_a_date_time_filter_given_a_number_is_refused(make_merchant, value) -> None:
    """Litestar would read a number as Unix seconds; the filters are ISO 8601 date-times (§4.2,
    OpenAPI `format: date-time`), so a number is 422 naming the parameter (core/http/strict_query.py)."""
    m = await make_merchant(role="payment")
    assert_error(await m.get(f"/v1/payins?created_lt={value}"), 422, "validation_error", "created_lt")
    assert_error(await m.get(f"/v1/refunds?created_gte={value}"), 422, "validation_error", "created_gte")
    listed = await m.get("/v1/payins?created_lt=2026-11-30T00:00:00Z&created_gte=2026-11-01T00:00:00%2B05:30")
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"object": "list", "data": [], "has_more": False}
