"""`gateway_client.webhooks.verify` on webhooks the live gateway really delivered, and the
documented SDK snippets (sdk/python/README.md, docs/webhooks.md) run on them."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from gateway_client import Event, Payin, Payout, WebhookVerificationError, webhooks

from core.webhooks.signing import sign_webhook
from tests.fixtures.stack import eventually
from tests.integration.webhook_receiver import Received, Receiver
from tests.sdk.conftest import done
from tests.sdk.samples import PAYOUT
from tests.sdk.test_sdk_payments import payin_params, payout_params


def python_block(path: str, containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", Path(path).read_text(), re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"{path}: expected one python block with {containing!r}"
    return found[0]


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def delivered(hooks: Receiver, object_id: str, event_type: str) -> Received:
    async def arrived() -> Received | None:
        for request in hooks.requests:
            body = orjson.loads(request.body)
            if body["data"]["id"] == object_id and body["type"] == event_type:
                return request
        return None

    return await eventually(arrived, timeout=30)  # type: ignore[no-any-return]


async def test_delivered_webhooks_verify_and_tampering_does_not(make_sdk_merchant, open_client, hooks) -> None:
    merchant = await make_sdk_merchant(funds=50_000, webhook_url=hooks.url)
    client = open_client(merchant)
    payin = await done(client.payins.create(**payin_params("sdk-wh-pi")))
    payout = await done(client.payouts.create(**payout_params("sdk-wh-po")))
    paid = await delivered(hooks, payin.id, "payin.succeeded")
    event = webhooks.verify(paid.body, paid.headers, merchant.webhook_secret)
    assert isinstance(event, Event) and event.id == paid.headers["x-webhook-id"]
    assert event.type == "payin.succeeded" and isinstance(event.data, Payin)
    assert (event.data.id, event.data.status, event.data.amount) == (payin.id, "succeeded", 10_000)
    assert event == await done(client.events.get(event.id))  # the webhook and the API agree
    sent = await delivered(hooks, payout.id, "payout.succeeded")
    payout_event = webhooks.verify(sent.body.decode(), dict(sent.headers), merchant.webhook_secret)
    assert isinstance(payout_event.data, Payout) and payout_event.data.beneficiary.account_number == "XXXXXXXX9012"

    # A manual resend (request(): an empty POST) arrives again, with the same event id, and verifies.
    found = await done(client.request("GET", "/v1/webhook-deliveries", params={"event_id": event.id}))
    resent = await done(client.request("POST", f"/v1/webhook-deliveries/{found['data'][0]['id']}/retry"))
    assert resent["event_id"] == event.id
    again = (await hooks.wait_for(event.id, count=2))[-1]
    assert webhooks.verify(again.body, again.headers, merchant.webhook_secret).id == event.id

    tampered = paid.body.replace(b"10000", b"99999")
    assert tampered != paid.body
    refused = [
        (tampered, paid.headers, merchant.webhook_secret),
        (paid.body, paid.headers, merchant.webhook_secret + "x"),
        (paid.body, paid.headers, "whsec_someone_else"),
        (paid.body, {k: v for k, v in paid.headers.items() if k != "x-webhook-signature"}, merchant.webhook_secret),
        (paid.body, {**paid.headers, "x-webhook-timestamp": "12x"}, merchant.webhook_secret),
    ]
    for body, headers, secret in refused:
        with pytest.raises(WebhookVerificationError):
            webhooks.verify(body, headers, secret)


def test_the_timestamp_must_be_within_the_tolerance() -> None:
    """Signed correctly by the gateway's own signer, but at a time outside the tolerance."""
    secret = "whsec_test"
    body = orjson.dumps(
        {
            "id": "evt_1",
            "type": "payout.processing",
            "created_at": "2026-11-23T10:15:00Z",
            "data": PAYOUT,
        }
    )

    def headers(at: int) -> dict[str, str]:
        signature = sign_webhook(secret, at, body)
        return {"X-Webhook-Id": "evt_1", "X-Webhook-Timestamp": str(at), "X-Webhook-Signature": signature}

    now = int(time.time())
    assert webhooks.verify(body, headers(now), secret).data.id == "po_01TEST"
    assert webhooks.verify(body, headers(now - 250), secret).type == "payout.processing"
    for at in (now - 400, now + 400):
        with pytest.raises(WebhookVerificationError, match="tolerance"):
            webhooks.verify(body, headers(at), secret)
    assert webhooks.verify(body, headers(now - 400), secret, tolerance=600).id == "evt_1"
    not_an_event = b'{"id": "evt_1"}'
    signed = {"X-Webhook-Timestamp": str(now), "X-Webhook-Signature": sign_webhook(secret, now, not_an_event)}
    with pytest.raises(WebhookVerificationError, match="not an event"):
        webhooks.verify(not_an_event, signed, secret)


@pytest.mark.parametrize("doc", ["sdk/python/README.md", "docs/webhooks.md"])
async def test_the_documented_sdk_handlers_accept_a_real_webhook(
    doc, make_sdk_merchant, open_client, hooks, monkeypatch
) -> None:
    merchant = await make_sdk_merchant(webhook_url=hooks.url)
    payin = await done(open_client(merchant).payins.create(**payin_params("sdk-wh-doc")))
    paid = await delivered(hooks, payin.id, "payin.succeeded")
    monkeypatch.setenv("GATEWAY_WEBHOOK_SECRET", merchant.webhook_secret)
    scope: dict[str, Any] = {}
    exec(python_block(doc, "handle_webhook"), scope)  # noqa: S102 - the documented merchant-side code, as merchants run it
    assert scope["handle_webhook"](paid.body, paid.headers) == 200
    assert scope["handle_webhook"](paid.body.replace(b"10000", b"10001"), paid.headers) == 400
