"""Reconciliation: clean after real payins and payouts; a removed entry, an entry without a
transaction and an altered payin document are each reported naming the transaction."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import orjson

from core import ledger
from core.ids import new_id
from core.job_refs import RECONCILE, ReconcileArgs
from core.jobs_client import enqueue
from core.ledger.amounts import PLATFORM_PROVIDER_FEES, fees_payable
from core.reconciliation import reconcile
from core.storage.mongo import compare_and_set
from core.storage.postgres import Database
from tests.fixtures.stack import eventually
from tests.integration.test_settlement import drive_transactions, today


class Rollback(Exception):
    """Raised to undo the test's ledger damage: the ledger stays verifiable for later tests."""


def problems_of(report: dict, ids: set[str]) -> list[dict]:
    # The session's database is shared with other modules (the ledger tests post entries for
    # transactions that have no document), so assertions look at this test's transactions.
    return [m for m in report["mismatches"] if m["transaction_id"] in ids]


async def test_reconcile_is_clean_after_real_traffic_and_reports_damage(
    db: Database, routed_merchant, resources, stack, api, admin_headers
) -> None:
    docs = await drive_transactions(routed_merchant, resources)
    ids = set(docs)
    clean = await reconcile(resources, today())
    assert problems_of(clean, ids) == []
    assert clean["checked"] >= len(ids) and clean["date"] == today()

    paid = next(i for i, d in docs.items() if d["collection"] == "payins" and d["status"] == "succeeded")
    payout = next(i for i, d in docs.items() if d["collection"] == "payouts" and d["status"] == "succeeded")
    ghost = new_id("pi")
    try:
        async with db.transaction() as tx:
            # Test-only: bypass the append-only triggers for this transaction, which is rolled back.
            await tx.sql("SET LOCAL session_replication_role = replica")
            removed = await tx.sql(
                "SELECT id FROM journal_entries WHERE transaction_id = {} AND kind = 'payout_succeeded'", payout
            )
            assert len(removed) == 1
            await tx.sql("DELETE FROM postings WHERE entry_id = {}", removed[0]["id"])
            await tx.sql("DELETE FROM journal_entries WHERE id = {}", removed[0]["id"])
            await ledger.post_entry(
                tx,
                "provider_fee_accrued",
                f"provider_fee:{ghost}",
                ghost,
                [(PLATFORM_PROVIDER_FEES, "INR", -7), (fees_payable(stack.ple_id), "INR", 7)],
            )
            # reconcile reads through the handle it is given: here, the uncommitted damage
            damaged = await reconcile(replace(resources, db=tx), today())  # type: ignore[arg-type]
            raise Rollback
    except Rollback:
        pass
    restored = await db.sql(
        "SELECT id FROM journal_entries WHERE transaction_id = {} AND kind = 'payout_succeeded'", payout
    )
    assert [r["id"] for r in restored] == [r["id"] for r in removed]
    found = {(m["transaction_id"], m["problem"]) for m in problems_of(damaged, ids | {ghost})}
    assert found == {(payout, "missing_entry"), (ghost, "entry_without_transaction")}
    missing = next(m for m in damaged["mismatches"] if m["transaction_id"] == payout)
    assert missing["expected"]["kind"] == "payout_succeeded" and missing["found"] is None

    shown = await api.get(f"/admin/v1/reconciliation/{today()}", headers=admin_headers)
    assert shown.status_code == 200 and shown.json()["object"] == "reconciliation_report"
    assert {(m["transaction_id"], m["problem"]) for m in problems_of(shown.json(), ids | {ghost})} == found

    original = docs[paid]["amount"]
    await compare_and_set(resources.mongo.db.payins, paid, lambda d: {**d, "amount": original + 1})
    altered = await reconcile(resources, today())
    assert [(m["transaction_id"], m["problem"]) for m in problems_of(altered, ids | {ghost})] == [
        (paid, "amount_mismatch")
    ]
    mismatch = problems_of(altered, {paid})[0]
    assert mismatch["expected"]["kind"] == "payin_succeeded" and mismatch["found"]["kind"] == "payin_succeeded"
    assert mismatch["expected"]["postings"] != mismatch["found"]["postings"]

    # A failed payin has no entries, so only the documents' side of the check can find it.
    failed = next(i for i, d in docs.items() if d["collection"] == "payins" and d["status"] == "failed")
    await compare_and_set(resources.mongo.db.payins, failed, lambda d: {**d, "status": "succeeded"})
    flipped = await reconcile(resources, today())
    assert sorted((m["problem"], m["expected"]["kind"]) for m in problems_of(flipped, {failed})) == [
        ("missing_entry", "payin_succeeded"),
        ("missing_entry", "provider_fee_accrued"),
    ]

    # Repaired, the rerun replaces the day's report: nothing of ours is left in it.
    await compare_and_set(resources.mongo.db.payins, paid, lambda d: {**d, "amount": original})
    await compare_and_set(resources.mongo.db.payins, failed, lambda d: {**d, "status": "failed"})
    await reconcile(resources, today())
    stored = await resources.mongo.db.reconciliation_reports.count_documents({"date": today()})
    assert stored == 1
    shown = await api.get(f"/admin/v1/reconciliation/{today()}", headers=admin_headers)
    assert problems_of(shown.json(), ids | {ghost}) == []

    # The job, run by the stack's real worker, for a given day.
    await enqueue(resources.queue, RECONCILE, ReconcileArgs(date="2020-01-02"))

    async def reported():
        return await resources.mongo.db.reconciliation_reports.find_one({"_id": "rec_2020-01-02"})

    assert (await eventually(reported, timeout=20))["checked"] == 0


async def test_reconcile_cli_prints_the_report(resources, api, admin_headers) -> None:
    day = "2020-01-01"  # a day with no traffic: clean, and the command exits 0
    result = subprocess.run(
        [sys.executable, "-c", "from core.cli.reconcile import reconcile; reconcile()", "--date", day, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = orjson.loads(result.stdout)
    assert report["date"] == day and report["mismatches"] == [] and report["checked"] == 0
    shown = await api.get(f"/admin/v1/reconciliation/{day}", headers=admin_headers)
    assert shown.status_code == 200 and shown.json()["id"] == f"rec_{day}"
    missing = await api.get("/admin/v1/reconciliation/2019-01-01", headers=admin_headers)
    assert missing.status_code == 404
    malformed = await api.get("/admin/v1/reconciliation/yesterday", headers=admin_headers)
    assert malformed.status_code == 422
