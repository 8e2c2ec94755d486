"""sdk/python/README.md's quickstart and async example, run as written against the live gateway
with the environment variables the README names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from core.payments.model import Payin
from core.payments.views import payin_view
from core.resources import Resources

README = Path("sdk/python/README.md").read_text()


def section_block(heading: str) -> str:
    """The first python block after `## heading`."""
    match = re.search(rf"^## {re.escape(heading)}\n.*?```python\n(.*?)```", README, re.S | re.M)
    assert match, f"sdk/python/README.md has no python block under '## {heading}'"
    return match.group(1)


@pytest.fixture
async def readme_env(make_sdk_merchant, edge) -> dict[str, str]:
    merchant = await make_sdk_merchant()
    return {
        **os.environ,
        "GATEWAY_BASE_URL": edge.url,
        "GATEWAY_KEY_ID": merchant.key_id,
        "GATEWAY_SECRET": merchant.secret,
        "MERCHANT_ID": merchant.merchant_id,
    }


def run(code: str, env: dict[str, str]) -> list[list[str]]:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


async def test_the_quickstart_runs_as_written(readme_env, resources: Resources) -> None:
    lines = run(section_block("Quickstart"), readme_env)
    by_label = {line[0]: line for line in lines}
    created, payin = by_label["created"], by_label["payin"]
    assert created[1] == payin[1] and created[2] == "pending"
    assert payin[2:] == ["succeeded", "net", "amount", "9800"]
    assert by_label["available"] == ["available", "9800", "reserved", "0"]
    assert by_label["payout"][2] in ("pending", "processing") and by_label["payout"][3] == "XXXXXXXX9012"
    assert by_label["listed"][1:3] == [payin[1], "10000"]
    assert by_label["error"][1:3] == ["404", "not_found"] and by_label["error"][3].startswith("req_")
    stored = await resources.mongo.db.payins.find_one({"_id": payin[1]})
    assert stored is not None and stored["merchant_id"] == readme_env["MERCHANT_ID"]
    assert payin_view(msgspec.convert(stored, Payin)).status == "succeeded"
    payout = await resources.mongo.db.payouts.find_one({"_id": by_label["payout"][1]})
    assert payout is not None and payout["merchant_id"] == readme_env["MERCHANT_ID"]


async def test_the_async_example_runs_as_written(readme_env) -> None:
    lines = run(section_block("Async"), readme_env)
    created = sorted((line[2], line[1]) for line in lines if line[0] == "created")
    assert [amount for amount, _ in created] == ["1000", "2000", "3000"]
    listed = [line[1] for line in lines if line[0] == "listed"]
    assert sorted(listed) == sorted(payin_id for _, payin_id in created) and listed == sorted(listed, reverse=True)
