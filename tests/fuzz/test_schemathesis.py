"""Schemathesis against each role's own OpenAPI (issue 14 item 2), over real processes.

The schema is read from `GET /schema` of the real api and payment roles of the module's stack.
Every generated request is signed at send time as a merchant routed to the sandbox PLE
(`core.signing.sign_request` over the exact method, path and query, and body bytes sent), and
`/admin/*` requests carry the admin bearer token. Every response check is on: no 5xx, the status
is one the operation declares, the content type and headers are the declared ones, the body
validates against the declared schema (the named components and the one `Error`, core/http/
answers.py), and a request schemathesis made invalid (negative mode) is refused with a 4xx. Every
4xx is also checked by hand to be the §4.2 error shape (docs/reliability.md, Fuzzing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.http.app import create_app
from core.http.context import litestar_of
from core.signing import sign_request
from tests.fuzz.hooks import ERROR_KEYS, Merchant, module_merchant

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
OUTCOMES: Counter[tuple[str, int, str]] = Counter()


@dataclass
class Target:
    """One role process, the merchant that signs for it and the admin token."""

    role: str
    url: str
    merchant: Merchant
    admin_token: str = field(repr=False)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))


@pytest.fixture(scope="module")
async def targets(stack, resources, admin_token) -> dict[str, Target]:
    built = {}
    for role in ("api", "payment"):
        merchant = await module_merchant(resources, stack.ple_id, name=f"Schemathesis {role}")
        built[role] = Target(role, getattr(stack, role).url, merchant, admin_token)
    # Funds, so generated payouts can be held and submitted rather than all refused.
    funded = await stack.http.post(
        f"{stack.api.url}/admin/v1/merchants/{built['payment'].merchant.merchant_id}/adjustments",
        json={"amount": 10**12, "currency": "INR", "reference": "fuzz-funding", "reason": "schemathesis"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert funded.status_code == 201, funded.text
    return built


def role_schema(role: str) -> dict[str, Any]:
    """The OpenAPI document the role serves at GET /schema (test_the_served_schema_is_the_fuzzed_one
    checks that the real processes serve exactly this). Built at collection time because
    schemathesis' lazy `from_fixture` loader fails under pytest 9.2 (`Function` has no `_nodeid`)."""
    return litestar_of(create_app(role)).openapi_schema.to_schema()  # type: ignore[no-any-return]


SCHEMAS = {role: role_schema(role) for role in ("api", "payment")}


def signed_send(case: Any, target: Target) -> httpx.Response:
    """Build the request schemathesis generated, sign the exact bytes, send it."""
    kwargs = case.as_transport_kwargs(base_url=target.url)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), (bytes, str)):
        body["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["data"] = kwargs["data"]
    request = target.http.build_request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers=kwargs.get("headers") or {},
        cookies=kwargs.get("cookies") or None,
        **body,
    )
    path = request.url.path
    if path.startswith("/v1/") and not path.startswith("/v1/callbacks/"):
        path_and_query = request.url.raw_path.decode("ascii")
        signed = sign_request(
            target.merchant.key_id, target.merchant.secret, request.method, path_and_query, request.content
        )
        request.headers.update(signed)
    elif path.startswith("/admin/"):
        request.headers["Authorization"] = f"Bearer {target.admin_token}"
    return target.http.send(request)


def check(case: Any, target: Target) -> None:
    response = signed_send(case, target)
    code = ""
    if 400 <= response.status_code < 500:
        payload = response.json()
        assert isinstance(payload, dict) and set(payload) == {"error"}, response.text
        # `param` and, on duplicate_reference, `existing_id` (§4.3) may come on top.
        assert ERROR_KEYS <= set(payload["error"]), response.text
        assert all(isinstance(payload["error"][k], str) and payload["error"][k] for k in ERROR_KEYS), response.text
        assert payload["error"]["request_id"] == response.headers["x-request-id"], response.text
        code = payload["error"]["code"]
        # A wrong signature here would mean the hook signed other bytes than were sent.
        assert code not in ("invalid_signature", "invalid_api_key", "timestamp_out_of_window"), response.text
    OUTCOMES[(f"{case.method} {case.path}", response.status_code, code)] += 1
    # An identical request repeated within the second (401 replayed_request) or a burst (429) are
    # declared answers, so they pass every check as they are.
    case.validate_response(response, checks=CHECKS)


api_schema = schemathesis.openapi.from_dict(SCHEMAS["api"])
payment_schema = schemathesis.openapi.from_dict(SCHEMAS["payment"])
for _schema in (api_schema, payment_schema):
    # Positive and negative data; the signing headers are added at send time (`signed_send`), so
    # schemathesis must not generate (or negate) them as if they were plain parameters.
    _schema.config.generation.update(with_security_parameters=False)

# The declared bodies carry no formats (currency, email, IFSC...), so random ones almost never
# pass validation; mixing in bodies valid by the business rules lets the fuzzing reach the
# provider call and the ledger hold as well as the validators.
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
_reference = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=8, max_size=64)
VALID_BODIES = {
    ("POST", "/v1/payins"): st.fixed_dictionaries(
        {
            "amount": st.integers(100, 10**9),
            "currency": st.just("INR"),
            "reference": _reference,
            "method": st.sampled_from(["upi", "bank_transfer", "card"]),
            "customer": st.fixed_dictionaries(
                {"name": _text, "email": st.just("asha@example.com")}, optional={"phone": st.just("+919812345678")}
            ),
        },
        optional={"metadata": st.dictionaries(st.text("abc", min_size=1, max_size=5), _text, max_size=3)},
    ),
    ("POST", "/v1/payouts"): st.fixed_dictionaries(
        {
            "amount": st.integers(100, 10**7),
            "currency": st.just("INR"),
            "reference": _reference,
            "mode": st.just("imps"),
            "beneficiary": st.fixed_dictionaries(
                {"name": _text, "account_number": st.just("123456789012"), "ifsc": st.just("HDFC0001234")}
            ),
        },
        optional={"narration": _text},
    ),
    ("POST", "/v1/echo"): st.fixed_dictionaries({"message": _text}, optional={"count": st.integers()}),
}


def before_generate_body(context: Any, strategy: Any) -> Any:
    valid = VALID_BODIES.get((context.operation.method.upper(), context.operation.path))
    return strategy if valid is None else st.one_of(strategy, valid)


api_schema.hook(before_generate_body)
payment_schema.hook(before_generate_body)


@pytest.mark.parametrize("role", ["api", "payment"])
def test_the_served_schema_is_the_fuzzed_one(targets, role) -> None:
    served = httpx.get(targets[role].url + "/schema", timeout=10)
    assert served.status_code == 200
    assert served.json() == SCHEMAS[role]


@api_schema.parametrize()
@EXAMPLES
def test_api_role_against_its_schema(case, targets) -> None:
    check(case, targets["api"])


@payment_schema.parametrize()
@EXAMPLES
def test_payment_role_against_its_schema(case, targets) -> None:
    check(case, targets["payment"])


def test_the_fuzzing_reached_the_handlers(targets) -> None:
    """Runs after the two above: signed requests got past authentication into the functions."""
    assert OUTCOMES, "no request was sent"
    succeeded = {op for (op, status, _), _n in OUTCOMES.items() if 200 <= status < 300}
    server_errors = sum(n for (_op, status, _c), n in OUTCOMES.items() if status >= 500)
    print(
        f"schemathesis: {sum(OUTCOMES.values())} requests, {len(succeeded)} operations answered 2xx, "
        f"{server_errors} answered 5xx"
    )
    assert "POST /v1/payins" in succeeded and "POST /v1/echo" in succeeded, sorted(succeeded)
