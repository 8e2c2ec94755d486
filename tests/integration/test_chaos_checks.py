"""The chaos run's provider-side invariants (chaos/provider_truth.py, issue 25) can fail.

Each test writes a crafted state into the real stores (gateway documents in nx-27017, ledger
entries in PostgreSQL, under a PLE id of its own so nothing else of the session is looked at),
hands the checker the provider's dump it would have read from the sandbox, and shows that the
checker reports the problem, by its code. The last test is live: the forged-callback lane against
the real stack and a second sandbox with another secret ends with 0 problems.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any

import httpx
import pytest

from chaos.forged import ForgedLane
from chaos.provider_truth import provider_problems
from core.ids import new_id
from core.ledger import post
from core.ledger.amounts import clearing, fees_payable
from core.ledger.posting import EntrySpec
from core.ledger.transfers import payin_credit
from core.local_services import free_port
from core.resources import Resources
from core.routing import create_ple, route_everything_to
from core.timeutil import utcnow
from tests.fixtures.merchants import new_merchant
from tests.fixtures.processes import RoleProcess
from tests.fixtures.stack import MERCHANT_FEES, PROVIDER_FEES, SANDBOX_SECRET, eventually

AMOUNT = 5_000


class World:
    """One PLE's crafted state: its provider's dump and the gateway's documents and ledger."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.ple = new_id("ple")
        self.merchant = new_id("mer")
        self.dump: dict[str, list[dict[str, Any]]] = {"payins": [], "payouts": [], "refunds": []}

    def provider(self, kind: str, object_id: str, status: str | None, amount: int = AMOUNT) -> None:
        row = {"id": object_id, "status": status, "amount": amount, "currency": "INR", "submissions": 1}
        self.dump[kind].append(row)

    async def gateway(self, kind: str, object_id: str, status: str, *, ple: str | None = None) -> None:
        now = utcnow()
        doc = {"_id": object_id, "merchant_id": self.merchant, "ple_id": ple or self.ple, "status": status}
        doc |= {"amount": AMOUNT, "currency": "INR", "created_at": now, "updated_at": now, "history": []}
        await self.res.mongo.db[kind].insert_one(doc)

    async def settle(self, kind: str, object_id: str, amount: int = AMOUNT) -> None:
        """A settling ledger entry: the real payin credit the first time, then crafted ones."""
        if kind == "payins" and not await self.entries(object_id):
            await post(self.res.db, payin_credit(object_id, self.merchant, self.ple, "INR", amount, amount // 50))
            return
        entry_kind = {"payins": "payin_succeeded", "payouts": "payout_succeeded", "refunds": "refund_succeeded"}[kind]
        postings = ((clearing(self.ple), "INR", -amount), (fees_payable(self.ple), "INR", amount))
        key = f"crafted:{object_id}:{secrets.token_hex(4)}"  # another key: the ledger's uniqueness is not the check
        await post(self.res.db, EntrySpec(entry_kind, key, object_id, postings, metadata={"amount": amount}))

    async def entries(self, object_id: str) -> list[dict[str, Any]]:
        return await self.res.db.sql("SELECT id FROM journal_entries WHERE transaction_id = {}", object_id)

    async def problems(self, *others: World) -> list[str]:
        dumps = {w.ple: w.dump for w in (self, *others)}
        found, _ = await provider_problems(self.res, dumps)
        return found


def codes(problems: list[str]) -> list[str]:
    return sorted(p.split(":", 1)[0] for p in problems)


@pytest.fixture
def world(resources: Resources) -> World:
    return World(resources)


async def test_agreeing_states_have_no_problems(world: World) -> None:
    for kind, provider_status, gateway_status, settled in [
        ("payins", "paid", "succeeded", True),
        ("payins", "failed", "failed", False),
        ("payins", "created", "expired", False),
        ("payouts", "completed", "succeeded", True),
        ("payouts", "accepted", "processing", False),
        ("payouts", "rejected", "failed", False),
        ("refunds", "completed", "succeeded", True),
        ("refunds", "failed", "failed", False),
    ]:
        object_id = new_id(kind[:2])
        world.provider(kind, object_id, provider_status)
        await world.gateway(kind, object_id, gateway_status)
        if settled:
            await world.settle(kind, object_id)
    payout_only_503 = new_id("po")  # the provider got a 503-only submission: it made nothing
    world.provider("payouts", payout_only_503, None)
    await world.gateway("payouts", payout_only_503, "failed")
    assert await world.problems() == []


async def test_a_collected_payin_dropped_by_the_gateway_is_reported(world: World) -> None:
    payin = new_id("pi")
    world.provider("payins", payin, "paid")
    await world.gateway("payins", payin, "expired")  # e.g. failed/expired after a timeout
    assert codes(await world.problems()) == ["not-settled", "status-disagrees"]


async def test_known_gaps_are_listed_apart_only_in_their_exact_shape(world: World) -> None:
    stale, other = new_id("pi"), new_id("pi")
    world.provider("payins", stale, "paid", amount=AMOUNT + 56)  # outcome 56: a stale "failed" won
    await world.gateway("payins", stale, "failed")
    world.provider("payins", other, "paid", amount=AMOUNT + 51)  # the same state, another outcome
    await world.gateway("payins", other, "failed")
    found, totals = await provider_problems(world.res, {world.ple: world.dump})
    assert codes(found) == ["not-settled", "status-disagrees"] and all(other in p for p in found)
    assert [line.split(":", 1)[0] for line in totals["known_gaps"]] == ["stale-failed-callback"] * 2
    assert all(stale in line for line in totals["known_gaps"])


async def test_a_payin_credited_twice_is_reported(world: World) -> None:
    payin = new_id("pi")
    world.provider("payins", payin, "paid")
    await world.gateway("payins", payin, "succeeded")
    await world.settle("payins", payin)
    await world.settle("payins", payin)
    assert codes(await world.problems()) == ["settled-twice"]


async def test_a_credit_for_money_never_collected_is_reported(world: World) -> None:
    forged = new_id("pi")  # what a forged "paid" callback would leave
    world.provider("payins", forged, "created")
    await world.gateway("payins", forged, "succeeded")
    await world.settle("payins", forged)
    invented = new_id("pi")  # a payin the provider never heard of, credited anyway
    await world.gateway("payins", invented, "succeeded")
    await world.settle("payins", invented)
    problems = await world.problems()
    assert codes(problems) == ["settled-without-provider", "settled-without-provider", "status-disagrees"]
    assert any(invented in p for p in problems) and any(forged in p for p in problems)


async def test_a_credit_of_another_amount_is_reported(world: World) -> None:
    payin = new_id("pi")
    world.provider("payins", payin, "paid", amount=AMOUNT)
    await world.gateway("payins", payin, "succeeded")
    await world.settle("payins", payin, amount=AMOUNT * 10)
    assert codes(await world.problems()) == ["settled-wrong-amount"]


async def test_payouts_paid_twice_or_never_paid_are_reported(world: World) -> None:
    twice, failed, unsettled = new_id("po"), new_id("po"), new_id("po")
    world.provider("payouts", twice, "completed")
    await world.gateway("payouts", twice, "succeeded")
    await world.settle("payouts", twice)
    await world.settle("payouts", twice)
    world.provider("payouts", failed, "failed")  # the gateway debited a payout the bank declined
    await world.gateway("payouts", failed, "succeeded")
    await world.settle("payouts", failed)
    world.provider("payouts", unsettled, "reversed")  # completed, then returned: debited once
    await world.gateway("payouts", unsettled, "reversed")
    problems = await world.problems()
    assert codes(problems) == ["not-settled", "settled-twice", "settled-without-provider", "status-disagrees"]


async def test_objects_the_gateway_does_not_know_are_reported(world: World) -> None:
    refund, payout = new_id("rf"), new_id("po")  # made at the provider, the create answer lost
    world.provider("refunds", refund, "completed")
    world.provider("payouts", payout, "accepted")
    assert codes(await world.problems()) == ["unknown-to-gateway", "unknown-to-gateway"]


async def test_an_object_settled_through_another_ple_is_reported(world: World, resources: Resources) -> None:
    other = World(resources)
    payin = new_id("pi")
    other.provider("payins", payin, "paid")  # provider B collected it
    await world.gateway("payins", payin, "succeeded")  # the gateway booked it under PLE A
    await world.settle("payins", payin)
    assert codes(await world.problems(other)) == ["wrong-ple"]


async def test_a_forged_callback_run_ends_with_no_problems(stack: Any, resources: Resources) -> None:
    """The forged-callback lane against the real stack: PLE a is the stack's, PLE b has its own
    sandbox and secret. Every forgery is answered as it must be, and after the payins settle
    the provider-side invariants find nothing."""
    secret_b, port_b = secrets.token_urlsafe(32), free_port()
    callback_url = f"{stack.payment.url}/v1/callbacks/sandbox"
    args = ["sandbox", "--port", str(port_b), "--secret", secret_b, "--delay-seconds", "0.3"]
    sandbox_b = RoleProcess([*args, "--callback-url", callback_url], port_b, {}, "sandbox-b")
    try:
        sandbox_b.wait_live("/__sandbox/health")
        ple_b = await create_ple(
            resources,
            provider="sandbox",
            name="Sandbox PLE b (chaos test)",
            currency="INR",
            base_url=sandbox_b.url,
            secret=secret_b,
            fee_schedule=PROVIDER_FEES,
            actor="test",
        )
        ples: dict[str, dict[str, Any]] = {
            "a": {"id": stack.ple_id, "secret": SANDBOX_SECRET, "sandbox_url": stack.sandbox.url},
            "b": {"id": ple_b["id"], "secret": secret_b, "sandbox_url": sandbox_b.url},
        }
        for ple in ples.values():
            created = await new_merchant(resources, "Forged lane merchant", fee_plans=MERCHANT_FEES)
            await route_everything_to(resources, created["merchant"]["id"], ple["id"], actor="test")
            ple["merchants"] = [{"key_id": created["key_id"], "secret": created["secret"]}]
        stats: dict[str, Any] = {}
        lane_problems: list[str] = []
        async with httpx.AsyncClient(base_url=stack.payment.url, timeout=30) as client:
            await ForgedLane(client, ples, stats, lane_problems).run(random.Random(7), 2, asyncio.Event())
        forged = stats["forged"]
        assert lane_problems == []
        assert forged["rounds"] == 2
        assert forged["other_ple"] == {"401": 6}  # 3 URLs x 2 rounds, all refused
        assert forged["replayed"] == {"200": 6, "401": 2}  # duplicates taken once, a's URL refuses
        assert sum(forged["wrong_amount"].values()) == 2

        async def settled() -> tuple[list[str], dict[str, Any]] | None:
            async with httpx.AsyncClient(timeout=10) as http:
                dumps = {p["id"]: (await http.get(f"{p['sandbox_url']}/__sandbox/dump")).json() for p in ples.values()}
            found, totals = await provider_problems(resources, dumps)
            return (found, totals) if not found else None

        found, totals = await eventually(settled, timeout=30, interval=1)
        assert found == []
        assert totals["payins"]["paid"] == 2  # the replayed ones were collected, and checked
        assert totals["payins"]["created"] == 4  # never collected: a's victims and b's wrong-amount ones
    finally:
        sandbox_b.stop()
