"""The SDK's types, as a merchant's type checker sees them: one resource code for both clients,
yet `Client` calls return models and `AsyncClient` calls awaitables of them; statuses, methods
and modes are checked against the contract's literals."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SAMPLE = """
from typing import reveal_type
from gateway_client import AsyncClient, Client
from gateway_client.resources import CustomerParams

ASHA: CustomerParams = {"name": "Asha", "email": "asha@example.com"}


def sync_use(c: Client) -> None:
    reveal_type(c.payins.create(amount=1, currency="INR", reference="r", method="upi", customer=ASHA))
    reveal_type(c.payouts.get("po_1"))
    reveal_type(c.refunds.list(payin_id="pi_1", limit=10))
    reveal_type(c.balance())
    reveal_type(c.events.get("evt_1").data)
    c.payins.create(amount=1, currency="INR", reference="r", method="cash", customer=ASHA)
    c.payouts.list(status="paid")


async def async_use(c: AsyncClient) -> None:
    reveal_type(c.payins.get("pi_1"))
    reveal_type(await c.payins.get("pi_1"))
    reveal_type(c.events.list(type="payin.succeeded"))
    async for refund in c.refunds.list():
        reveal_type(refund.status)
    reveal_type(await c.balance())
"""


def test_mypy_strict_passes_and_sees_the_intended_types(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    command = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary"]
    strict = subprocess.run([*command, "sdk/python/src/gateway_client"], capture_output=True, text=True)
    assert strict.returncode == 0, strict.stdout
    checked = subprocess.run([*command, str(sample)], capture_output=True, text=True).stdout
    revealed = {int(n): t for n, t in re.findall(r'sample\.py:(\d+): note: Revealed type is "(.*)"', checked)}
    errors = {int(n): e for n, e in re.findall(r"sample\.py:(\d+): error: (.*)", checked)}
    m = "gateway_client.models."
    assert revealed == {
        10: f"{m}Payin",
        11: f"{m}Payout",
        12: f"typing.Iterator[{m}Refund]",
        13: f"{m}Balance",
        14: f"{m}Payin | {m}Payout | {m}Refund",
        20: f"typing.Awaitable[{m}Payin]",
        21: f"{m}Payin",
        22: f"typing.AsyncIterator[{m}Event]",
        24: "Literal['pending'] | Literal['processing'] | Literal['succeeded'] | Literal['failed']",
        25: f"{m}Balance",
    }, checked
    assert sorted(errors) == [15, 16], checked  # a method and a status outside the contract
    assert "Literal['upi', 'bank_transfer', 'card']" in errors[15]
    assert "Literal['pending', 'processing', 'succeeded', 'failed', 'reversed']" in errors[16]
