"""Provider fee settlement: once per PLE and day (also under races), totals equal accrued fees."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from datetime import timedelta

import orjson
import pytest

from core import ledger
from core.errors import ApiError
from core.ids import new_id
from core.jobs_client import NoArgs
from core.routing import create_ple
from core.settlement import settle_ple_fees
from core.storage.postgres import Handle
from core.timeutil import utcnow
from tests.fixtures.stack import eventually

BENEFICIARY = {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0000001"}
CUSTOMER = {"name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"}


def today() -> str:
    return utcnow().date().isoformat()


def yesterday() -> str:
    return (utcnow().date() - timedelta(days=1)).isoformat()


async def new_ple(resources) -> str:
    created = await create_ple(
        resources,
        provider="sandbox",
        name="Settlement test PLE",
        currency="INR",
        base_url="http://127.0.0.1:9",
        secret="settlement-test-secret",
        fee_schedule={},
        actor="test",
    )
    return created["id"]


async def settlement_entries(db: Handle, ple_id: str) -> list[dict]:
    return await db.sql(
        "SELECT id, transaction_id FROM journal_entries WHERE kind = 'provider_fees_settled'"
        " AND metadata->>'ple_id' = {}",
        ple_id,
    )


async def settlement_rows(db: Handle, ple_id: str) -> list[dict]:
    return await db.sql("SELECT id, total, entry_id FROM settlements WHERE ple_id = {}", ple_id)


async def ple_balances(db: Handle, ple_id: str) -> dict[str, int]:
    rows = await db.sql("SELECT code, balance FROM accounts WHERE code LIKE {}", f"ple:{ple_id}:%")
    return {r["code"]: r["balance"] for r in rows}


async def wait_final(resources, collection: str, doc_id: str, timeout: float = 20) -> dict:
    finals = {"payins": ("succeeded", "failed", "expired"), "payouts": ("succeeded", "failed", "reversed")}

    async def done():
        doc = await resources.mongo.db[collection].find_one({"_id": doc_id})
        return doc if doc["status"] in finals[collection] and not doc.get("effects_pending") else None

    return await eventually(done, timeout)


async def drive_transactions(routed_merchant, resources) -> dict[str, dict]:
    """Real payins and payouts through the stack: two paid and one failed payin, one succeeded and
    one failed payout. Returns the final documents by id."""
    m = await routed_merchant()
    await ledger.adjust_merchant_balance(resources.db, m.merchant_id, "INR", 100_000, new_id("fund"), "test funding")
    ids: list[tuple[str, str]] = []
    for amount, ref in ((10_000, "paid-1"), (20_000, "paid-2"), (10_051, "failed")):
        body = {"amount": amount, "currency": "INR", "reference": ref, "method": "upi", "customer": CUSTOMER}
        response = await m.post("/v1/payins", body)
        assert response.status_code == 201, response.text
        ids.append(("payins", response.json()["id"]))
    for amount, ref in ((10_000, "po-ok"), (5_051, "po-failed")):
        body = {"amount": amount, "currency": "INR", "reference": ref, "mode": "imps", "beneficiary": BENEFICIARY}
        response = await m.post("/v1/payouts", body)
        assert response.status_code in (200, 201), response.text
        ids.append(("payouts", response.json()["id"]))
    docs = {}
    for collection, doc_id in ids:
        docs[doc_id] = {"collection": collection, **await wait_final(resources, collection, doc_id)}
    statuses = sorted((d["collection"], d["status"]) for d in docs.values())
    assert statuses == [
        ("payins", "failed"),
        ("payins", "succeeded"),
        ("payins", "succeeded"),
        ("payouts", "failed"),
        ("payouts", "succeeded"),
    ]
    return docs


async def test_settle_twice_second_skipped_ledger_unchanged(resources) -> None:
    ple = await new_ple(resources)
    for fee in (30, 70, 5):
        await ledger.accrue_provider_fee(resources.db, new_id("pi"), ple, "INR", fee)
    first = await settle_ple_fees(resources, ple, today(), allow_open_day=True)
    assert first["skipped"] is False and first["total"] == 105 and first["entry_id"]
    assert first["id"].startswith("stl_") and first["date"] == today()
    balances = await ple_balances(resources.db, ple)
    assert balances[f"ple:{ple}:fees_payable"] == 0 and balances[f"ple:{ple}:clearing"] == 105
    entries = await settlement_entries(resources.db, ple)
    assert [e["id"] for e in entries] == [first["entry_id"]] and entries[0]["transaction_id"] == first["id"]

    second = await settle_ple_fees(resources, ple, today(), allow_open_day=True)
    assert second["skipped"] is True and second["id"] == first["id"] and second["total"] == 105
    assert await ple_balances(resources.db, ple) == balances
    assert await settlement_entries(resources.db, ple) == entries
    assert len(await settlement_rows(resources.db, ple)) == 1


async def test_two_concurrent_settlements_post_one_entry(resources) -> None:
    ple = await new_ple(resources)
    await ledger.accrue_provider_fee(resources.db, new_id("po"), ple, "INR", 250)
    results = await asyncio.gather(*(settle_ple_fees(resources, ple, today(), allow_open_day=True) for _ in range(2)))
    assert sorted(r["skipped"] for r in results) == [False, True]
    assert results[0]["id"] == results[1]["id"] and {r["total"] for r in results} == {250}
    assert len(await settlement_entries(resources.db, ple)) == 1 and len(await settlement_rows(resources.db, ple)) == 1
    assert (await ple_balances(resources.db, ple))[f"ple:{ple}:fees_payable"] == 0


async def test_two_settle_processes_race_to_one_entry(resources) -> None:
    ple = await new_ple(resources)
    await ledger.accrue_provider_fee(resources.db, new_id("pi"), ple, "INR", 40)
    await ledger.accrue_provider_fee(resources.db, new_id("po"), ple, "INR", 60)
    args = ["--ple", ple, "--date", today(), "--allow-open-day", "--json"]
    code = "from core.cli.settle import settle; settle()"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-2000:] for o in outputs]
    printed = [orjson.loads(out) for out, _ in outputs]
    assert all(set(p) == {"settlement_id", "skipped", "total", "statement_fees", "fee_difference"} for p in printed)
    # This PLE's provider answers nowhere: its statement is unreadable, so nothing is compared.
    assert all(p["statement_fees"] is None and p["fee_difference"] is None for p in printed)
    assert sorted(p["skipped"] for p in printed) == [False, True]
    assert {p["total"] for p in printed} == {100} and len({p["settlement_id"] for p in printed}) == 1
    assert len(await settlement_entries(resources.db, ple)) == 1 and len(await settlement_rows(resources.db, ple)) == 1


async def test_zero_total_is_recorded_so_the_day_is_not_retried(resources) -> None:
    ple = await new_ple(resources)
    first = await settle_ple_fees(resources, ple, yesterday())
    assert first["skipped"] is False and first["total"] == 0 and first["entry_id"] is None
    assert (await settle_ple_fees(resources, ple, yesterday()))["skipped"] is True
    assert await settlement_entries(resources.db, ple) == []


async def test_open_future_and_malformed_days_are_refused(resources) -> None:
    ple = await new_ple(resources)
    for day in (today(), (utcnow().date() + timedelta(days=1)).isoformat(), "2026-13-01", "yesterday"):
        with pytest.raises(ApiError) as caught:
            await settle_ple_fees(resources, ple, day)
        assert caught.value.code == "validation_error" and caught.value.param == "date"
    assert await settlement_rows(resources.db, ple) == []


async def test_admin_api_settles_lists_and_skips(resources, api, admin_headers) -> None:
    ple = await new_ple(resources)
    body = {"ple_id": ple, "date": yesterday()}
    created = await api.post("/admin/v1/settlements", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["object"] == "settlement" and created.json()["skipped"] is False
    again = await api.post("/admin/v1/settlements", json=body, headers=admin_headers)
    assert again.status_code == 200 and again.json()["skipped"] is True and again.json()["id"] == created.json()["id"]
    listed = await api.get("/admin/v1/settlements", params={"ple_id": ple}, headers=admin_headers)
    assert listed.status_code == 200 and [s["id"] for s in listed.json()["data"]] == [created.json()["id"]]
    missing = await api.post(
        "/admin/v1/settlements", json={"ple_id": "ple_nope", "date": yesterday()}, headers=admin_headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    open_day = await api.post("/admin/v1/settlements", json={"ple_id": ple, "date": today()}, headers=admin_headers)
    assert open_day.status_code == 422 and open_day.json()["error"]["param"] == "date"
    assert (await api.get("/admin/v1/settlements")).status_code == 401
    audited = await resources.mongo.db.audit_log.count_documents(
        {"target": created.json()["id"], "action": {"$in": ["settlement.settled", "settlement.skipped"]}}
    )
    assert audited == 2


async def test_fees_settled_equal_fees_accrued_by_real_transactions(
    routed_merchant, resources, stack, api, admin_headers
) -> None:
    docs = await drive_transactions(routed_merchant, resources)
    fee_bearing = {i: d for i, d in docs.items() if d["status"] == "succeeded"}
    expected_total = sum(d["provider_fee"] for d in fee_bearing.values())
    assert expected_total == 50 + 100 + 50  # 50 bps of 10 000, 20 000 and the 10 000 payout

    settled = await settle_ple_fees(resources, stack.ple_id, today(), allow_open_day=True)
    assert settled["skipped"] is False and settled["total"] == expected_total
    assert (await ple_balances(resources.db, stack.ple_id))[f"ple:{stack.ple_id}:fees_payable"] == 0

    response = await api.get(
        "/admin/v1/settlements/report", params={"ple_id": stack.ple_id, "date": today()}, headers=admin_headers
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["id"] for r in rows} == set(fee_bearing)
    assert sum(int(r["provider_fee"]) for r in rows) == settled["total"]
    for row in rows:
        doc = fee_bearing[row["id"]]
        assert row["kind"] == doc["collection"][:-1] and int(row["amount"]) == doc["amount"]
        assert row["provider_reference"] == (doc["provider_reference"] or "") and row["final_at"].endswith("Z")

    report_code = "from core.cli.settle import settlement_report; settlement_report()"
    cli = subprocess.run(
        [sys.executable, "-c", report_code, "--ple", stack.ple_id, "--date", today()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert cli.stdout == response.text

    verify = subprocess.run(
        [sys.executable, "-m", "core", "ledger", "verify", "--json"], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr[-2000:]
    assert orjson.loads(verify.stdout) == {"ok": True, "problems": []}


async def test_daily_cron_enqueues_one_settlement_per_active_ple(resources, stack) -> None:
    from core.routing import active_ples
    from jobs.enqueue_daily_settlements import enqueue_daily_settlements

    ctx = {"resources": resources}
    # Two workers running the daily cron at once: the per-(PLE, date) job key and the unique row
    # leave one settlement each; the stack's real worker runs the queued jobs.
    runs = await asyncio.gather(enqueue_daily_settlements(ctx, NoArgs()), enqueue_daily_settlements(ctx, NoArgs()))
    assert {r["date"] for r in runs} == {yesterday()}
    ples = {p["id"] for p in await active_ples(resources.db)}
    assert stack.ple_id in ples

    async def all_settled():
        day = utcnow().date() - timedelta(days=1)
        rows = await resources.db.sql(
            "SELECT ple_id, count(*) AS n FROM settlements WHERE date = {} GROUP BY ple_id", day
        )
        counts = {r["ple_id"]: r["n"] for r in rows}
        return counts if ples <= counts.keys() else None

    counts = await eventually(all_settled, timeout=30)
    assert set(counts.values()) == {1}
