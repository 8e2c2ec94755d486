"""Three-way reconciliation (issue 24): real traffic through the stack reconciles clean against the
sandbox's statement; a statement told to disagree yields each kind of break once with its amount;
a lost callback is applied through the state machine; a forged success is critical."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from typing import Any

import orjson
import pytest

from core import ledger
from core.errors import ApiError
from core.ids import new_id
from core.job_refs import RECONCILE, ReconcileArgs
from core.jobs_client import enqueue
from core.payments import machine as engine
from core.payments.model import PayinStatus
from core.payments.payins import MACHINE as PAYINS
from core.providers.base import PleConfig, ProviderUnavailable
from core.providers.sandbox import SandboxAdapter, parse_statement
from core.sandbox.signing import STATEMENT_COLUMNS
from core.settlement import settle_ple_fees
from core.statement_reconciliation import breaks_csv, get_statement_reports, reconcile_statement
from tests.fixtures.stack import PROVIDER_FEES, eventually
from tests.integration.test_dashboard import csrf_of, new_user, sign_in
from tests.integration.test_refunds import payin_body, refund_body, settled
from tests.integration.test_settlement import BENEFICIARY, today


class Rollback(Exception):
    """Undoes the test's ledger damage: the ledger stays verifiable for later tests."""


def found(report: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    return sorted((b["kind"], b["transaction_id"], b["amount"], b["severity"]) for b in report["breaks"])


async def statement_settings(stack, **settings: Any) -> None:
    response = await stack.http.post(f"{stack.sandbox.url}/__sandbox/statements/settings", json=settings)
    assert response.status_code == 200, response.text


async def drive(routed_merchant, resources) -> dict[str, dict]:
    """Three paid payins, a succeeded payout and a succeeded refund, all final here."""
    m = await routed_merchant()
    await ledger.adjust_merchant_balance(resources.db, m.merchant_id, "INR", 100_000, new_id("fund"), "test funding")
    made: dict[str, dict] = {}
    for amount in (10_000, 20_000, 30_000):
        payin = (await m.post("/v1/payins", payin_body(amount))).json()
        made[f"payin_{amount}"] = await settled(resources, "payin", payin["id"], "succeeded")
    body = {"amount": 10_000, "currency": "INR", "reference": new_id("ref"), "mode": "imps"}
    payout = (await m.post("/v1/payouts", body | {"beneficiary": BENEFICIARY})).json()
    made["payout"] = await settled(resources, "payout", payout["id"], "succeeded")
    refund = (await m.post("/v1/refunds", refund_body(made["payin_30000"]["_id"], 1_000))).json()
    made["refund"] = await settled(resources, "refund", refund["id"], "succeeded")
    made["merchant"] = {"client": m}
    return made


async def test_three_way_clean_then_each_break_once_apply_and_forged_success(
    routed_merchant, resources, stack, api, admin_headers, app_client
) -> None:
    ple = stack.ple_id
    await statement_settings(stack, fee_schedule=PROVIDER_FEES, alterations=[])
    made = await drive(routed_merchant, resources)

    clean = await reconcile_statement(resources, ple, today())
    assert clean["breaks"] == [] and clean["break_count"] == 0 and clean["critical_count"] == 0
    assert clean["matched"] == 5 and clean["statement"]["lines"] == 5
    assert clean["statement"]["amount"] == 10_000 + 20_000 + 30_000 + 10_000 + 1_000
    # 50 bps of each payin and of the payout; refunds are charged nothing.
    assert clean["statement"]["fees"] == 50 + 100 + 150 + 50

    # A success whose ledger credit is gone: the transaction and the ledger disagree by its amount.
    first = made["payin_10000"]["_id"]
    try:
        async with resources.db.transaction() as tx:
            # Test-only: bypass the append-only triggers in a transaction that is rolled back.
            await tx.sql("SET LOCAL session_replication_role = replica")
            await tx.sql(
                "DELETE FROM postings WHERE entry_id IN (SELECT id FROM journal_entries"
                " WHERE transaction_id = {} AND kind = 'payin_succeeded')",
                first,
            )
            await tx.sql("DELETE FROM journal_entries WHERE transaction_id = {} AND kind = 'payin_succeeded'", first)
            unbooked = await reconcile_statement(dataclasses.replace(resources, db=tx), ple, today())
            raise Rollback
    except Rollback:
        pass
    assert found(unbooked) == [("ledger_mismatch", first, -10_000, "error")]
    assert (await get_statement_reports(resources.db, today(), ple))[0]["break_count"] == 0  # rolled back with it

    # Settlement compares its total with the statement's fees.
    settled_fees = await settle_ple_fees(resources, ple, today(), allow_open_day=True)
    assert (settled_fees["total"], settled_fees["statement_fees"], settled_fees["fee_difference"]) == (350, 350, 0)

    # The provider signs its statement like every other call: an unsigned request is refused.
    unsigned = await stack.http.get(f"{stack.sandbox.url}/v1/statements/{today()}")
    assert unsigned.status_code == 401

    # A payin paid at the provider whose callback never comes (outcome 55): pending here.
    m = made["merchant"]["client"]
    lost = (await m.post("/v1/payins", payin_body(10_055))).json()["id"]

    async def paid_there() -> bool:
        return (await stack.sandbox_counters("payins", lost))["status"] == "paid"

    await eventually(paid_there)
    a, b, c = (made[f"payin_{n}"]["_id"] for n in (10_000, 20_000, 30_000))
    payout = made["payout"]["_id"]
    alterations = [
        {"action": "amount", "our_reference": a, "delta": 100},
        {"action": "fee", "our_reference": b, "delta": 7},
        {"action": "duplicate", "our_reference": c},
        {"action": "omit", "our_reference": payout},
    ]
    await statement_settings(stack, alterations=alterations)
    altered = await reconcile_statement(resources, ple, today())
    assert found(altered) == sorted(
        [
            ("amount_mismatch", a, 100, "error"),
            ("fee_mismatch", b, 7, "error"),
            ("duplicate", c, 30_000, "error"),
            ("missing_from_statement", payout, 10_000, "critical"),
            ("collected_not_succeeded", lost, 10_055, "error"),
        ]
    )
    assert altered["critical_count"] == 1 and altered["break_count"] == 5
    # Fees 50 + (100 + 7) + 150 twice + 50 for the lost payin; the omitted payout's 50 is gone.
    assert altered["statement"]["fees"] == 507
    again = await settle_ple_fees(resources, ple, today(), allow_open_day=True)
    assert again["skipped"] is True and (again["statement_fees"], again["fee_difference"]) == (507, 507 - 350)
    collected = next(x for x in altered["breaks"] if x["kind"] == "collected_not_succeeded")
    assert collected["action"] == "apply" and collected["ours"] == {"status": "pending"}

    exported = breaks_csv(await get_statement_reports(resources.db, today(), ple))
    assert exported.splitlines()[0] == "date,ple_id,kind,severity,type,transaction_id,amount,action,detail"
    assert len(exported.splitlines()) == 6 and f",missing_from_statement,critical,payout,{payout},10000," in exported

    # Applied the way a poll is: the provider confirms, the state machine credits it. Only a
    # stored applicable break can be applied.
    url = f"/admin/v1/reconciliation/{today()}/statements/apply"
    refused = await api.post(url, json={"ple_id": ple, "transaction_id": a}, headers=admin_headers)
    assert refused.status_code == 404, refused.text
    email = await new_user(resources.db, "admin")
    async with app_client("frontend") as client:
        assert (await sign_in(client, email)).status_code == 303
        page = await client.get(f"/manage/reconciliation?date={today()}")
        assert 'action="/manage/reconciliation/apply"' in page.text and f'value="{lost}"' in page.text
        form = {"csrf_token": csrf_of(page.text), "date": today(), "ple_id": ple, "transaction_id": lost}
        done = await client.post("/manage/reconciliation/apply", data=form)
        assert done.status_code == 303, done.text
        shown = await client.get(done.headers["location"])
        assert f"Asked the provider about {lost} and applied" in shown.text
    # The page reconciled the day again: that break is gone, so it cannot be applied twice.
    again_applied = await api.post(url, json={"ple_id": ple, "transaction_id": lost}, headers=admin_headers)
    assert again_applied.status_code == 404
    assert "collected_not_succeeded" not in {
        b["kind"] for b in (await get_statement_reports(resources.db, today(), ple))[0]["breaks"]
    }
    await settled(resources, "payin", lost, "succeeded")

    # A forged success (as a forged callback would leave it): credited here, never collected.
    forged = (await m.post("/v1/payins", payin_body(10_052))).json()["id"]  # never paid there
    pending = await PAYINS.store(resources).get(forged)
    await engine.advance(resources, PAYINS, pending, PayinStatus.SUCCEEDED, source="test:forged", drain_now=True)
    await settled(resources, "payin", forged, "succeeded")
    unknown = new_id("pi")
    line = {"type": "payin", "our_reference": unknown, "amount": 4_200, "currency": "INR", "provider_reference": "x"}
    await statement_settings(stack, alterations=[{"action": "add", "line": line}])
    second = await reconcile_statement(resources, ple, today())
    assert found(second) == sorted(
        [
            ("missing_from_statement", forged, 10_052, "critical"),
            ("collected_not_succeeded", unknown, 4_200, "error"),
        ]
    )
    assert next(x for x in second["breaks"] if x["transaction_id"] == unknown)["action"] == "investigate"
    assert second["matched"] == 6 and second["critical_count"] == 1

    # The CLI runs the same reconciliation, stores it and exits 1 on breaks.
    command = "from core.cli.reconcile import reconcile; reconcile()"
    result = subprocess.run(
        [sys.executable, "-c", command, "--date", today(), "--ple", ple, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert found(orjson.loads(result.stdout)) == found(second)

    shown = await api.get(f"/admin/v1/reconciliation/{today()}/statements?ple_id={ple}", headers=admin_headers)
    assert shown.status_code == 200, shown.text
    assert found(shown.json()["data"][0]) == found(second)
    as_csv = await api.get(f"/admin/v1/reconciliation/{today()}/statements.csv?ple_id={ple}", headers=admin_headers)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert f",missing_from_statement,critical,payin,{forged},10052," in as_csv.text

    # The admin dashboard shows the day per PLE and exports the same breaks.
    async with app_client("frontend") as client:
        assert (await sign_in(client, email)).status_code == 303
        page = await client.get(f"/manage/reconciliation?date={today()}")
        assert page.status_code == 200
        assert f'data-testid="breaks-{ple}">2<' in page.text and f'data-testid="critical-{ple}">1<' in page.text
        exported = await client.get(f"/manage/reconciliation.csv?date={today()}")
        assert exported.status_code == 200
        assert f",missing_from_statement,critical,payin,{forged},10052," in exported.text

    # The nightly job, run by the stack's worker for this PLE and day, replaces the stored result:
    # with the statement restored only the forged success is left.
    await statement_settings(stack, alterations=[])
    await enqueue(resources.queue, RECONCILE, ReconcileArgs(date=today(), ple_id=ple))

    async def rerun() -> dict | None:
        stored = (await get_statement_reports(resources.db, today(), ple))[0]
        return stored if stored["break_count"] == 1 else None

    rerun_report = await eventually(rerun, timeout=90)  # the shared worker may have a backlog
    assert found(rerun_report) == [("missing_from_statement", forged, 10_052, "critical")]


async def test_statement_is_signed_read_strictly_and_bad_input_is_refused(resources, stack, api, admin_headers) -> None:
    day = date.fromisoformat(today())
    adapter = SandboxAdapter(resources.settings, retry_attempts=1)
    ple = await resources.ples.get(stack.ple_id)
    try:
        assert isinstance(await adapter.fetch_statement(ple, day), list)
        forged = PleConfig(ple.ple_id, ple.provider, ple.base_url, "not-the-secret-" + "x" * 20, ple.currency)
        with pytest.raises(ProviderUnavailable):
            await adapter.fetch_statement(forged, day)
    finally:
        await adapter.aclose()
    with pytest.raises(ProviderUnavailable):
        parse_statement("type,amount\npayin,100\n")
    with pytest.raises(ProviderUnavailable):
        parse_statement(",".join(STATEMENT_COLUMNS) + "\npayin,r,pi_1,ten,INR,0,\n")

    settings_url = f"{stack.sandbox.url}/__sandbox/statements/settings"
    for bad in ({"alterations": [{"action": "explode"}]}, {"fee_schedule": {"payin": {"upi": 5}}}, [1]):
        assert (await stack.http.post(settings_url, json=bad)).status_code == 400
    assert (await stack.http.get(f"{stack.sandbox.url}/__sandbox/statements/yesterday")).status_code == 400

    with pytest.raises(ApiError) as unknown:
        await reconcile_statement(resources, "ple_unknown", today())
    assert unknown.value.code == "not_found"
    shown = await api.get("/admin/v1/reconciliation/not-a-day/statements", headers=admin_headers)
    assert shown.status_code == 422 and shown.json()["error"]["param"] == "date"
    body = {"ple_id": stack.ple_id, "transaction_id": "pi_x", "extra": 1}
    refused = await api.post(f"/admin/v1/reconciliation/{today()}/statements/apply", json=body, headers=admin_headers)
    assert refused.status_code == 422
