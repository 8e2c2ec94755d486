"""`client.refunds` shapes its requests to the §4.9 contract. The gateway has no refunds yet, so
a small local HTTP server answers as the contract says and records what the SDK sent; the live
refund tests come with the refunds themselves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from gateway_client import ApiError, AsyncClient, Client, GatewayError, Refund

from core.signing import signature
from tests.sdk.conftest import done, every
from tests.sdk.samples import refund

KEY_ID, SECRET = "key_01TEST", "sk_test_secret"


@dataclass
class Recorded:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query)

    def signed_correctly(self) -> bool:
        """The signature a gateway would compute (core.signing, the reference signer) matches."""
        ts = self.headers["x-timestamp"]
        expected = signature(SECRET, ts, self.method, self.target, self.body)
        return self.headers["x-api-key"] == KEY_ID and self.headers["x-signature"] == expected


@dataclass
class Scripted:
    """Answers each request with the next scripted (status, body) and records it."""

    answers: list[tuple[int, Any]] = field(default_factory=list)
    seen: list[Recorded] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        script = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                script.seen.append(Recorded(self.command, self.path, headers, body))
                status, payload = script.answers.pop(0)
                data = orjson.dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Request-Id", "req_local")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def local() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()
    server = ThreadingHTTPServer(("127.0.0.1", 0), script.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


@pytest.fixture
async def client(client_kind: str, local: tuple[str, Scripted]) -> Any:
    cls = Client if client_kind == "sync" else AsyncClient
    opened = cls(local[0], KEY_ID, SECRET)
    yield opened
    await done(opened.aclose() if isinstance(opened, AsyncClient) else opened.close())


async def test_create_posts_the_contract_body_and_retries_with_the_same_key(client, local) -> None:
    _, script = local
    script.answers = [
        (500, {"error": {"code": "internal_error", "message": "internal error", "request_id": "req_1"}}),
        (201, refund("rf_1")),
    ]
    created = await done(
        client.refunds.create(
            payin_id="pi_01TEST", reference="ref-rf_1", amount=2_500, reason="customer asked", metadata={"order": "77"}
        )
    )
    assert isinstance(created, Refund) and created.object == "refund"
    assert (created.id, created.payin_id, created.amount, created.status) == ("rf_1", "pi_01TEST", 2_500, "pending")
    assert created.metadata == {"order": "77"} and created.created_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    first, retry = script.seen
    assert (first.method, first.target) == ("POST", "/v1/refunds")
    assert orjson.loads(first.body) == {
        "payin_id": "pi_01TEST",
        "reference": "ref-rf_1",
        "amount": 2_500,
        "reason": "customer asked",
        "metadata": {"order": "77"},
    }
    assert first.headers["content-type"] == "application/json"
    assert len(first.headers["idempotency-key"]) == 36  # a generated UUID
    assert retry.headers["idempotency-key"] == first.headers["idempotency-key"] and retry.body == first.body
    assert first.signed_correctly() and retry.signed_correctly()
    assert retry.headers["x-timestamp"] != first.headers["x-timestamp"]


async def test_create_without_amount_leaves_it_to_the_gateway(client, local) -> None:
    _, script = local
    script.answers = [(201, refund("rf_2", amount=10_000))]
    created = await done(client.refunds.create(payin_id="pi_01TEST", reference="full", idempotency_key="mine-1"))
    assert created.amount == 10_000
    (sent,) = script.seen
    assert orjson.loads(sent.body) == {"payin_id": "pi_01TEST", "reference": "full"}
    assert sent.headers["idempotency-key"] == "mine-1" and sent.signed_correctly()


async def test_get_and_list_walk_the_pages_with_filters(client, local) -> None:
    _, script = local
    script.answers = [
        (200, refund("rf_9", "succeeded")),
        (200, {"object": "list", "data": [refund("rf_3"), refund("rf_2")], "has_more": True}),
        (
            200,
            {"object": "list", "data": [refund("rf_1", "failed", failure_code="provider_rejected")], "has_more": False},
        ),
    ]
    assert (await done(client.refunds.get("rf_9"))).status == "succeeded"
    since = datetime(2026, 11, 23, 15, 45, tzinfo=UTC)
    listed = await every(client.refunds.list(payin_id="pi_01TEST", status="pending", created_gte=since, limit=2))
    assert [r.id for r in listed] == ["rf_3", "rf_2", "rf_1"] and listed[2].failure_code == "provider_rejected"
    get, page1, page2 = script.seen
    assert (get.method, get.target, get.body) == ("GET", "/v1/refunds/rf_9", b"")
    filters = [
        ("payin_id", "pi_01TEST"),
        ("status", "pending"),
        ("created_gte", "2026-11-23T15:45:00Z"),
        ("limit", "2"),
    ]
    assert page1.path == "/v1/refunds" and page1.query == filters
    assert page2.query == [*filters, ("starting_after", "rf_2")]
    assert all(r.signed_correctly() and "idempotency-key" not in r.headers for r in script.seen)


async def test_refund_errors_and_answers_outside_the_contract(client, local) -> None:
    _, script = local
    exceeds = {"code": "refund_exceeds_payin", "message": "too much", "request_id": "req_2", "param": "amount"}
    script.answers = [
        (422, {"error": exceeds}),
        (201, refund("rf_4", "reversed")),  # not a refund status in §4.9
    ]
    with pytest.raises(ApiError) as error:
        await done(client.refunds.create(payin_id="pi_01TEST", reference="r", amount=99_999))
    assert (error.value.status, error.value.code, error.value.param, error.value.request_id) == (
        422,
        "refund_exceeds_payin",
        "amount",
        "req_2",
    )
    assert len(script.seen) == 1  # a 4xx is final: not retried
    with pytest.raises(GatewayError, match="does not match"):
        await done(client.refunds.create(payin_id="pi_01TEST", reference="r2"))
    with pytest.raises(ValueError, match="non-empty"):
        await done(client.refunds.get(""))
