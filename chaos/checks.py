"""After the faults: let the system drain, then check every invariant of the chaos run."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx

from core.config import load_settings
from core.resources import Resources, open_resources
from core.timeutil import utcnow

FUNDING = 100_000_000
FINAL_EVENTS = {
    "payins": ("succeeded", "failed", "expired"),
    "payouts": ("processing", "succeeded", "failed", "reversed"),
}


async def _unsettled(res: Resources) -> dict[str, int]:
    db = res.mongo.db
    info = await res.queue.info()
    return {
        "payins_pending": await db.payins.count_documents({"status": "pending"}),
        "payouts_pending": await db.payouts.count_documents({"status": "pending"}),
        "payouts_processing_unreviewed": await db.payouts.count_documents(
            {"status": "processing", "needs_review": False}
        ),
        "effects_pending": await db.payins.count_documents({"effects_pending": True})
        + await db.payouts.count_documents({"effects_pending": True}),
        "deliveries_pending": await db.webhook_deliveries.count_documents({"status": "pending"}),
        "jobs_queued": int(info.get("queued", 0)),
        "jobs_active": int(info.get("active", 0)),
    }


async def drain(res: Resources, seconds: int) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    state: dict[str, int] = {}
    while time.monotonic() < deadline:
        state = await _unsettled(res)
        if not any(state.values()):
            break
        await asyncio.sleep(2)
    return state


async def run_checks(sandbox_url: str, drain_seconds: int) -> dict[str, Any]:
    from core import ledger

    problems: list[str] = []
    async with open_resources(load_settings(), pool_size=4) as res:
        started = time.monotonic()
        left = await drain(res, drain_seconds)
        drained_in = round(time.monotonic() - started, 1)
        problems += [f"not drained: {k} = {v}" for k, v in left.items() if v]
        problems += [f"ledger: {p}" for p in await ledger.verify_ledger(res.db)]
        db = res.mongo.db
        payins = await db.payins.find({}).to_list(None)
        payouts = await db.payouts.find({}).to_list(None)
        events = await db.events.find({}).to_list(None)
        deliveries = {d["event_id"]: d for d in await db.webhook_deliveries.find({}).to_list(None)}
        by_object: dict[str, list[str]] = defaultdict(list)
        for event in events:
            by_object[event["object_id"]].append(event["type"])
            delivery = deliveries.get(event["_id"])
            if delivery is None or delivery["status"] not in ("delivered", "failed", "skipped"):
                problems.append(f"event {event['_id']} has no finished delivery")
        for kind, docs in (("payins", payins), ("payouts", payouts)):
            for doc in docs:
                reached = {h["status"] for h in doc["history"]} & set(FINAL_EVENTS[kind])
                expected = sorted(f"{kind[:-1]}.{s}" for s in reached)
                if sorted(by_object[doc["_id"]]) != expected:
                    problems.append(f"{doc['_id']}: events {sorted(by_object[doc['_id']])}, expected {expected}")
        late = utcnow() - timedelta(seconds=75)
        problems += [
            f"{p['_id']} pending past expiry" for p in payins if p["status"] == "pending" and p["expires_at"] < late
        ]
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
            for doc in payouts:
                counters = (await client.get(f"/__sandbox/payouts/{doc['_id']}")).json()
                if counters.get("payouts_created", 0) > 1:
                    problems.append(f"{doc['_id']} paid {counters['payouts_created']} times")
        problems += await _balances_add_up(res.db, payins, payouts)
        problems += await _reconcile(res)
        totals = {
            "payins": _count(payins),
            "payouts": _count(payouts),
            "events": len(events),
            "deliveries": {
                s: sum(1 for d in deliveries.values() if d["status"] == s)
                for s in ("delivered", "failed", "skipped", "pending")
            },
            "payouts_needing_review": sum(1 for p in payouts if p.get("needs_review")),
        }
    return {"problems": problems, "drained_in_seconds": drained_in, "left_unsettled": left, "totals": totals}


def _count(docs: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for doc in docs:
        out[doc["status"]] += 1
    return dict(out)


async def _balances_add_up(db: Any, payins: list[dict[str, Any]], payouts: list[dict[str, Any]]) -> list[str]:
    """Each merchant's money equals funding + paid payins - live payouts; reserved = open payouts."""
    from core import ledger

    expected: dict[str, list[int]] = defaultdict(lambda: [FUNDING, 0])
    for p in payins:
        if p["status"] == "succeeded":
            expected[p["merchant_id"]][0] += p["amount"] - p["fee"]
    for p in payouts:
        total = p["amount"] + p["fee"]
        if p["status"] in ("pending", "processing"):
            expected[p["merchant_id"]][0] -= total
            expected[p["merchant_id"]][1] += total
        elif p["status"] == "succeeded":
            expected[p["merchant_id"]][0] -= total
    problems = []
    for merchant_id, (available, reserved) in expected.items():
        row = next(iter(await ledger.merchant_balances(db, merchant_id)), {"available": 0, "reserved": 0})
        if (row["available"], row["reserved"]) != (available, reserved):
            problems.append(
                f"{merchant_id}: ledger {row['available']}/{row['reserved']}, documents say {available}/{reserved}"
            )
    return problems


async def _reconcile(res: Resources) -> list[str]:
    try:
        from core.reconciliation import reconcile
    except ImportError:
        return []
    report = await reconcile(res, utcnow().date())
    mismatches = report.get("mismatches", []) if isinstance(report, dict) else []
    return [f"reconcile: {m}" for m in mismatches]
