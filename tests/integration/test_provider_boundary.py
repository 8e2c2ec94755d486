"""The provider boundary (issue 17, items 1, 3, 4; ARCHITECTURE §4.5, §5) through real processes.

Three sandbox PSPs with different secrets (one answering after the gateway's read timeout), the
payment and worker roles with a 1 s provider read timeout, and a PLE pointing at a closed port:
- a callback signed by one PLE about another PLE's payin or payout changes nothing (401);
- an ambiguous answer (timeout after sending, 5xx before or after acting) never fails a payin:
  it is 201 pending and its outcome is learned from the callback or by polling;
- only a refused connection fails it (502, nothing charged);
- a correctly signed report with another amount is never applied: flagged for review.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from core import ledger
from core.ids import new_id
from core.local_services import free_port
from core.resources import Resources
from core.routing import create_ple, route_everything_to
from core.sandbox.signing import SIGNATURE_HEADER, sign_body
from core.storage.postgres import Database, Handle
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES, eventually

SECRETS = {"a": "sbx-secret-a-" + new_id("s"), "b": "sbx-secret-b-" + new_id("s"), "slow": "sbx-slow-" + new_id("s")}
ROLE_ENV = {"PROVIDER_READ_TIMEOUT_SECONDS": "1", "PAYOUT_POLL_INITIAL_DELAY_SECONDS": "1"}


@dataclass
class Boundary:
    payment: RoleProcess
    worker: RoleProcess
    sandboxes: dict[str, RoleProcess]
    ples: dict[str, str]
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
def boundary_processes() -> Iterator[dict[str, RoleProcess]]:
    payment_port, worker_port = free_port(), free_port()
    callback_url = f"http://127.0.0.1:{payment_port}/v1/callbacks/sandbox"
    procs: dict[str, RoleProcess] = {}
    try:
        for name, secret in SECRETS.items():
            port = free_port()
            latency = ["--latency-ms", "1500"] if name == "slow" else []
            args = ["sandbox", "--port", str(port), "--secret", secret, "--delay-seconds", "0.3"]
            procs[name] = RoleProcess([*args, "--callback-url", callback_url, *latency], port, {}, f"sandbox-{name}")
        for name, port in (("payment", payment_port), ("worker", worker_port)):
            procs[name] = RoleProcess(["serve", "--role", name, "--port", str(port)], port, ROLE_ENV, name)
        for name in SECRETS:
            procs[name].wait_live("/__sandbox/health")
        procs["payment"].wait_live()
        procs["worker"].wait_live()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture(scope="module")
async def boundary(boundary_processes: dict[str, RoleProcess], resources: Resources) -> AsyncIterator[Boundary]:
    ples = {}
    targets = {name: boundary_processes[name].url for name in SECRETS} | {"down": f"http://127.0.0.1:{free_port()}"}
    for name, url in targets.items():
        secret = SECRETS.get(name, "sbx-down-" + new_id("s"))
        created = await create_ple(
            resources,
            provider="sandbox",
            name=f"PLE {name}",
            currency="INR",
            base_url=url,
            secret=secret,
            fee_schedule=PROVIDER_FEES,
            actor="test",
        )
        ples[name] = created["id"]
    async with httpx.AsyncClient(timeout=30) as http:
        yield Boundary(
            payment=boundary_processes["payment"],
            worker=boundary_processes["worker"],
            sandboxes={n: boundary_processes[n] for n in SECRETS},
            ples=ples,
            http=http,
        )


async def merchant_on(resources: Resources, boundary: Boundary, ple: str, funds: int = 0) -> SignedClient:
    created = await new_merchant(resources, f"Merchant on {ple}", fee_plans=MERCHANT_FEES)
    merchant_id = created["merchant"]["id"]
    await route_everything_to(resources, merchant_id, boundary.ples[ple], actor="test")
    if funds:
        await ledger.adjust_merchant_balance(resources.db, merchant_id, "INR", funds, new_id("fund"), "test funding")
    client = httpx.AsyncClient(base_url=boundary.payment.url, timeout=30)
    return SignedClient(client, merchant_id, created["key_id"], created["secret"])


def payin_body(amount: int) -> dict[str, Any]:
    customer = {"name": "Asha", "email": "asha@example.com"}
    return {"amount": amount, "currency": "INR", "reference": new_id("ref"), "method": "upi", "customer": customer}


def payout_body(amount: int) -> dict[str, Any]:
    beneficiary = {"name": "Ravi Kumar", "account_number": "123456789012", "ifsc": "HDFC0001234"}
    return {"amount": amount, "currency": "INR", "reference": new_id("ref"), "mode": "imps", "beneficiary": beneficiary}


def callback(kind: str, object_id: str, status: str, amount: int, secret: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(
        {
            "event_id": new_id("evt_forged"),
            "event_type": f"{kind}.{status}",
            "object": kind,
            "object_id": object_id,
            "provider_reference": "sbx_forged",
            "status": status,
            "amount": amount,
            "currency": "INR",
            "occurred_at": "2026-11-29T10:00:00Z",
        }
    )
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign_body(secret, body)}


async def doc(resources: Resources, kind: str, object_id: str) -> dict[str, Any]:
    found = await resources.mongo.db[f"{kind}s"].find_one({"_id": object_id})
    assert found is not None
    return found


async def reaches(resources: Resources, kind: str, object_id: str, status: str, timeout: float = 20) -> dict:
    async def check() -> dict | None:
        d = await doc(resources, kind, object_id)
        return d if d["status"] == status and not d["effects_pending"] else None

    return await eventually(check, timeout=timeout)


async def balances(db: Handle, merchant_id: str) -> tuple[int, int]:
    rows = await ledger.merchant_balances(db, merchant_id)
    return (rows[0]["available"], rows[0]["reserved"]) if rows else (0, 0)


# -- 1: callbacks are bound to the PLE that signed them ---------------------------------------------


async def test_a_paid_callback_signed_by_another_ple_changes_nothing(boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "a")
    payin = (await m.post("/v1/payins", payin_body(300_052))).json()  # 52: the sandbox never collects it
    body, headers = callback("payin", payin["id"], "paid", 300_052, SECRETS["b"])
    forged = await boundary.http.post(f"{boundary.payment.url}/v1/callbacks/sandbox", content=body, headers=headers)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    assert (await doc(resources, "payin", payin["id"]))["status"] == "pending"
    assert await ledger.entries_for_transaction(resources.db, payin["id"]) == []
    rejected = await resources.mongo.db.audit_log.find_one({"action": "callback.rejected", "target": payin["id"]})
    assert rejected is not None and rejected["details"]["reason"] == "ple_mismatch"
    metrics = (await boundary.http.get(f"{boundary.payment.url}/metrics")).text
    assert 'reason="ple_mismatch"' in metrics and "gateway_provider_callbacks_rejected" in metrics
    # The same report signed by the payin's own PLE is applied: the refusal was about the signer.
    body, headers = callback("payin", payin["id"], "paid", 300_052, SECRETS["a"])
    genuine = await boundary.http.post(f"{boundary.payment.url}/v1/callbacks/sandbox", content=body, headers=headers)
    assert genuine.status_code == 200
    await reaches(resources, "payin", payin["id"], "succeeded")
    assert await balances(resources.db, m.merchant_id) == (300_052 - 6_001, 0)  # 2 % fee, credited once


async def test_a_reversal_signed_by_another_ple_does_not_pay_twice(boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "a", funds=100_000)
    payout = (await m.post("/v1/payouts", payout_body(10_000))).json()
    await reaches(resources, "payout", payout["id"], "succeeded")
    before = await balances(resources.db, m.merchant_id)
    body, headers = callback("payout", payout["id"], "reversed", 10_000, SECRETS["b"])
    forged = await boundary.http.post(f"{boundary.payment.url}/v1/callbacks/sandbox", content=body, headers=headers)
    assert forged.status_code == 401
    assert (await doc(resources, "payout", payout["id"]))["status"] == "succeeded"
    assert await balances(resources.db, m.merchant_id) == before == (89_500, 0)


async def test_a_ple_callback_url_tries_only_that_ples_secret(boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "a")
    payin = (await m.post("/v1/payins", payin_body(10_052))).json()
    body, headers = callback("payin", payin["id"], "paid", 10_052, SECRETS["a"])
    url = f"{boundary.payment.url}/v1/callbacks/sandbox/{boundary.ples['b']}"
    assert (await boundary.http.post(url, content=body, headers=headers)).status_code == 401
    own = f"{boundary.payment.url}/v1/callbacks/sandbox/{boundary.ples['a']}"
    assert (await boundary.http.post(own, content=body, headers=headers)).status_code == 200
    await reaches(resources, "payin", payin["id"], "succeeded")


# -- 3: an ambiguous provider answer never fails a payin ---------------------------------------------


async def test_an_answer_after_the_read_timeout_leaves_the_payin_pending_then_credited(boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "slow")
    response = await m.post("/v1/payins", payin_body(10_000))
    assert response.status_code == 201, response.text
    payin = response.json()
    assert payin["status"] == "pending" and payin["provider_reference"] is None
    await reaches(resources, "payin", payin["id"], "succeeded")  # the sandbox collected it: its callback counts
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    counters = (await boundary.http.get(f"{boundary.sandboxes['slow'].url}/__sandbox/payins/{payin['id']}")).json()
    assert counters["payins_created"] == 1


@pytest.mark.parametrize("fault", ["fail_next", "fail_after_next"])
async def test_a_5xx_leaves_the_payin_pending_until_the_provider_tells(boundary, resources, fault) -> None:
    m = await merchant_on(resources, boundary, "a")
    sandbox = boundary.sandboxes["a"].url
    await boundary.http.post(f"{sandbox}/__sandbox/faults", json={fault: 1})
    response = await m.post("/v1/payins", payin_body(10_000))
    assert response.status_code == 201 and response.json()["status"] == "pending", response.text
    payin = response.json()
    # fail_next: nothing reached the provider; polling resubmits it (same id). fail_after_next: the
    # provider has it although we saw a 503; its callback arrives. Either way: paid, credited once.
    await reaches(resources, "payin", payin["id"], "succeeded", timeout=30)
    assert await balances(resources.db, m.merchant_id) == (9_800, 0)
    counters = (await boundary.http.get(f"{sandbox}/__sandbox/payins/{payin['id']}")).json()
    assert counters["payins_created"] == 1
    assert len(await ledger.entries_for_transaction(resources.db, payin["id"])) == 2


async def test_a_refused_connection_fails_the_payin_with_502(boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "down")
    body = payin_body(10_000)
    response = await m.post("/v1/payins", body)
    assert response.status_code == 502 and response.json()["error"]["code"] == "provider_unavailable"
    stored = await resources.mongo.db.payins.find_one({"merchant_id": m.merchant_id, "reference": body["reference"]})
    assert stored["status"] == "failed" and stored["failure_code"] == "provider_unavailable"


# -- 4: amounts are checked -----------------------------------------------------------------------


async def test_a_paid_callback_with_another_amount_is_not_applied(db: Database, boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "a")
    payin = (await m.post("/v1/payins", payin_body(500_052))).json()
    body, headers = callback("payin", payin["id"], "paid", 1, SECRETS["a"])
    answer = await boundary.http.post(f"{boundary.payment.url}/v1/callbacks/sandbox", content=body, headers=headers)
    assert answer.status_code == 200  # genuine signature: stored, then refused by the state machine

    async def flagged() -> dict | None:
        d = await doc(resources, "payin", payin["id"])
        return d if d["needs_review"] else None

    found = await eventually(flagged)
    assert found["status"] == "pending" and found["failure_code"] == "amount_mismatch"
    assert await ledger.entries_for_transaction(db, payin["id"]) == []
    shown = (await m.get(f"/v1/payins/{payin['id']}")).json()
    assert shown["needs_review"] is True and shown["failure_code"] == "amount_mismatch"
    metrics = (await boundary.http.get(f"{boundary.worker.url}/metrics")).text
    assert "gateway_provider_amount_mismatches" in metrics


async def test_a_completed_payout_callback_with_another_amount_is_not_applied(
    db: Database, boundary, resources
) -> None:
    m = await merchant_on(resources, boundary, "a", funds=100_000)
    payout = (await m.post("/v1/payouts", payout_body(10_053))).json()  # 53: stays processing
    await reaches(resources, "payout", payout["id"], "processing")
    body, headers = callback("payout", payout["id"], "completed", 10, SECRETS["a"])
    answer = await boundary.http.post(f"{boundary.payment.url}/v1/callbacks/sandbox", content=body, headers=headers)
    assert answer.status_code == 200

    async def flagged() -> dict | None:
        d = await doc(resources, "payout", payout["id"])
        return d if d["needs_review"] and d["review_reason"] == "amount_mismatch" else None

    found = await eventually(flagged)
    assert found["status"] == "processing"
    assert await balances(db, m.merchant_id) == (100_000 - 10_553, 10_553)  # still held, not paid out


async def test_a_payin_reported_failed_then_paid_is_credited_once_as_late(db: Database, boundary, resources) -> None:
    m = await merchant_on(resources, boundary, "a")
    payin = (await m.post("/v1/payins", payin_body(700_052))).json()  # 52: the sandbox sends nothing itself
    url = f"{boundary.payment.url}/v1/callbacks/sandbox"
    for status in ("failed", "paid", "paid"):  # a stale "failed", then the truth, then a retry of it
        body, headers = callback("payin", payin["id"], status, 700_052, SECRETS["a"])
        assert (await boundary.http.post(url, content=body, headers=headers)).status_code == 200
        if status == "failed":
            await reaches(resources, "payin", payin["id"], "failed")
    stored = await reaches(resources, "payin", payin["id"], "succeeded")
    assert stored["late"] is True and stored.get("failure_code") is None
    credits = [e for e in await ledger.entries_for_transaction(db, payin["id"]) if e.kind == "payin_succeeded"]
    assert len(credits) == 1
    assert await balances(db, m.merchant_id) == (700_052 - 14_001, 0)  # 2 % fee, credited exactly once
