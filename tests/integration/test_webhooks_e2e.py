"""A payin and a payout driven to final states by the real stack deliver their signed events."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from core.ids import new_id
from core.ledger import adjust_merchant_balance
from core.storage.postgres import Database
from tests.integration.webhook_receiver import Receiver

SNIPPET = re.search(r"```python\n(.*?)```", Path("docs/webhooks.md").read_text(), re.S).group(1)  # type: ignore[union-attr]


def verify(secret: str, headers: dict, body: bytes) -> bool:
    scope: dict = {}
    exec(SNIPPET, scope)  # noqa: S102 - the documented merchant-side snippet, run as merchants would
    return scope["verify_webhook"](secret, headers, body)


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def test_final_states_deliver_signed_events(db: Database, routed_merchant, hooks, stack) -> None:
    m = await routed_merchant(webhook_url=hooks.url)
    await adjust_merchant_balance(db, m.merchant_id, "INR", 100_000, new_id("fund"), "test funding")
    payin = (
        await m.post(
            "/v1/payins",
            {
                "amount": 10_000,
                "currency": "INR",
                "reference": "wh-pi",
                "method": "upi",
                "customer": {"name": "A", "email": "a@example.com"},
            },
        )
    ).json()
    payout = (
        await m.post(
            "/v1/payouts",
            {
                "amount": 10_000,
                "currency": "INR",
                "reference": "wh-po",
                "mode": "imps",
                "beneficiary": {"name": "B", "account_number": "123456789012", "ifsc": "HDFC0001234"},
            },
        )
    ).json()
    seen: dict[str, dict] = {}
    for obj_id, wanted in (
        (payin["id"], {"payin.succeeded"}),
        (payout["id"], {"payout.processing", "payout.succeeded"}),
    ):
        from tests.fixtures.stack import eventually

        async def arrived(obj_id: str = obj_id, wanted: set = wanted) -> bool:
            found = {}
            for request in hooks.requests:
                body = orjson.loads(request.body)
                if body["data"]["id"] == obj_id:
                    found[body["type"]] = request
            seen.update({f"{obj_id}:{t}": r for t, r in found.items()})
            return set(found) == wanted

        await eventually(arrived, timeout=30)
    for key, request in seen.items():
        assert verify(m.webhook_secret, request.headers, request.body), key
        assert not verify(m.webhook_secret, request.headers, request.body.replace(b"10000", b"99999")), key
        body = orjson.loads(request.body)
        assert request.headers["x-webhook-id"] == body["id"]
        assert "123456789012" not in request.body.decode()
