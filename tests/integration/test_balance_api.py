"""GET /v1/balance, GET /v1/ledger/entries, admin adjustments and `gateway merchant credit`."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson


async def test_balance_statement_and_adjustments(api, make_merchant, admin_headers) -> None:
    m = await make_merchant()
    empty = (await m.get("/v1/balance")).json()
    assert empty == {"object": "balance", "data": []}
    url = f"/admin/v1/merchants/{m.merchant_id}/adjustments"
    for i, amount in enumerate((5_000, 2_500, -1_000)):
        body = {"amount": amount, "currency": "INR", "reference": f"adj-{i}", "reason": "goodwill"}
        response = await api.post(url, json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
    replay = await api.post(
        url,
        json={"amount": 5_000, "currency": "INR", "reference": "adj-0", "reason": "goodwill"},
        headers=admin_headers,
    )
    assert replay.json()["replayed"] is True
    balance = (await m.get("/v1/balance")).json()["data"]
    assert balance == [{"currency": "INR", "available": 6_500, "reserved": 0}]
    too_much = await api.post(
        url, json={"amount": -10_000, "currency": "INR", "reference": "adj-x", "reason": "x"}, headers=admin_headers
    )
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "insufficient_funds"
    page1 = (await m.get("/v1/ledger/entries?limit=2")).json()
    assert page1["has_more"] is True and [e["net"] for e in page1["data"]] == [-1_000, 2_500]
    page2 = (await m.get(f"/v1/ledger/entries?limit=2&starting_after={page1['data'][-1]['id']}")).json()
    assert [e["net"] for e in page2["data"]] == [5_000] and page2["has_more"] is False
    bad = await m.get("/v1/ledger/entries?kind=nope")
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "kind"
    audit = await api.get(f"/admin/v1/audit?target={m.merchant_id}&action=balance.adjusted", headers=admin_headers)
    assert len(audit.json()["data"]) == 3  # the replay is not a second change


async def test_another_merchant_sees_only_its_own_statement(make_merchant, api, admin_headers) -> None:
    rich, poor = await make_merchant(), await make_merchant()
    await api.post(
        f"/admin/v1/merchants/{rich.merchant_id}/adjustments",
        json={"amount": 1_000, "currency": "INR", "reference": "r", "reason": "x"},
        headers=admin_headers,
    )
    assert (await poor.get("/v1/ledger/entries")).json()["data"] == []
    assert (await poor.get("/v1/balance")).json()["data"] == []


async def test_merchant_credit_cli_prints_the_entry_and_ledger_verify_is_clean(make_merchant) -> None:
    m = await make_merchant()
    run = [sys.executable, "-m", "core", "merchant", "credit", "--merchant", m.merchant_id, "--amount", "777"]
    result = subprocess.run([*run, "--reference", "cli-1", "--json"], capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["entry_id"].startswith("je_")
    assert (await m.get("/v1/balance")).json()["data"][0]["available"] == 777
    verify = subprocess.run(
        [sys.executable, "-m", "core", "ledger", "verify", "--json"], capture_output=True, text=True
    )
    assert verify.returncode == 0 and orjson.loads(verify.stdout) == {"ok": True, "problems": []}
