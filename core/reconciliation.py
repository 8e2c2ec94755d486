"""Daily reconciliation of transactions against the ledger (ARCHITECTURE §7; docs/settlement.md).

For a UTC day it checks both directions:
- every payin and payout that reached a final state that day has exactly the ledger entries its
  status requires (kinds and amounts per account);
- every ledger entry created that day for a payin or payout belongs to an existing transaction
  whose status requires that entry, with the same amounts.

A transaction whose state change is still applying its effects (`effects_pending` and updated in
the last five minutes) is counted as in progress, not as a mismatch. The report replaces that
day's previous one, so the job is safe to rerun.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from core.ledger.amounts import PLATFORM_PROVIDER_FEES, PLATFORM_REVENUE, available, clearing, fees_payable, reserved
from core.ledger.posting import Entry, load_entries
from core.observability.metrics import RECONCILIATION_MISMATCHES
from core.payments.model import COLLECTION, Kind
from core.payments.model import FINAL as FINAL_OF
from core.resources import Resources
from core.settlement import day_bounds, parse_day
from core.storage.mongo import compare_and_set
from core.storage.tables import JournalEntry
from core.timeutil import iso, utcnow

log = structlog.get_logger("reconciliation")

REPORTS = "reconciliation_reports"
IN_PROGRESS_WINDOW = timedelta(minutes=5)
FINAL = {COLLECTION[k]: tuple(FINAL_OF[k]) for k in (Kind.PAYIN, Kind.PAYOUT, Kind.REFUND)}
# The entry kinds a payin or payout causes; other kinds (adjustments, settlements) are not theirs.
TRANSACTION_KINDS = (
    "payin_succeeded",
    "payout_hold",
    "payout_succeeded",
    "payout_failed",
    "payout_reversed",
    "provider_fee_accrued",
    "refund_hold",
    "refund_succeeded",
    "refund_failed",
)

Net = dict[str, int]  # account code -> net signed amount of one entry


def _net(pairs: list[tuple[str, int]]) -> Net:
    net: Net = {}
    for account, amount in pairs:
        net[account] = net.get(account, 0) + amount
    return {a: n for a, n in net.items() if n != 0}


def expected_entries(collection: str, doc: dict[str, Any]) -> dict[str, Net]:
    """Entry kind -> net postings that the document's current status requires (§6)."""
    status, mid, ple = doc["status"], doc["merchant_id"], doc.get("ple_id", "")
    amount, fee, provider_fee = doc["amount"], doc.get("fee", 0), doc.get("provider_fee", 0)
    accrual = _net([(PLATFORM_PROVIDER_FEES, -provider_fee), (fees_payable(ple), provider_fee)])
    wanted: dict[str, Net] = {}
    if collection == "refunds":  # no fee either way (§4.9)
        wanted["refund_hold"] = _net([(available(mid), -amount), (reserved(mid), amount)])
        if status == "succeeded":
            wanted["refund_succeeded"] = _net([(reserved(mid), -amount), (clearing(ple), amount)])
        if status == "failed":
            wanted["refund_failed"] = _net([(reserved(mid), -amount), (available(mid), amount)])
    elif collection == "payins":
        if status == "succeeded":
            wanted["payin_succeeded"] = _net(
                [(clearing(ple), -amount), (available(mid), amount - fee), (PLATFORM_REVENUE, fee)]
            )
            wanted["provider_fee_accrued"] = accrual
    else:
        wanted["payout_hold"] = _net([(available(mid), -(amount + fee)), (reserved(mid), amount + fee)])
        if status in ("succeeded", "reversed"):
            wanted["payout_succeeded"] = _net(
                [(reserved(mid), -(amount + fee)), (clearing(ple), amount), (PLATFORM_REVENUE, fee)]
            )
            wanted["provider_fee_accrued"] = accrual
        if status == "reversed":
            wanted["payout_reversed"] = _net(
                [(clearing(ple), -amount), (PLATFORM_REVENUE, -fee), (available(mid), amount + fee)]
            )
        if status == "failed":
            wanted["payout_failed"] = _net([(reserved(mid), -(amount + fee)), (available(mid), amount + fee)])
    return {kind: net for kind, net in wanted.items() if net}  # a zero entry is never posted


def _shown(net: Net) -> list[dict[str, Any]]:
    # A list, not a dict: account codes may hold characters MongoDB refuses in keys.
    return [{"account": a, "amount": net[a]} for a in sorted(net)]


def _entry_net(entry: Entry) -> Net:
    return _net([(p.account_code, p.amount) for p in entry.postings])


def _final_in(doc: dict[str, Any], collection: str, start: datetime, end: datetime) -> bool:
    for step in doc.get("history", []):
        at = step.get("at")
        if isinstance(at, datetime) and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if step.get("status") in FINAL[collection] and isinstance(at, datetime) and start <= at < end:
            return True
    return False


def in_progress_now(doc: dict[str, Any], now: datetime) -> bool:
    updated = doc.get("updated_at")
    if isinstance(updated, datetime) and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return bool(doc.get("effects_pending")) and isinstance(updated, datetime) and updated > now - IN_PROGRESS_WINDOW


def compare(transaction_id: str, collection: str, doc: dict[str, Any], entries: list[Entry]) -> list[dict[str, Any]]:
    """The mismatches between what the document requires and the entries found for it."""
    wanted = expected_entries(collection, doc)
    found: dict[str, list[Entry]] = {}
    for entry in entries:
        found.setdefault(entry.kind, []).append(entry)
    problems: list[dict[str, Any]] = []

    def problem(name: str, expected: Any, got: Any) -> None:
        problems.append({"transaction_id": transaction_id, "problem": name, "expected": expected, "found": got})

    for kind, net in wanted.items():
        have = found.get(kind, [])
        if not have:
            problem("missing_entry", {"kind": kind, "postings": _shown(net)}, None)
            continue
        if len(have) > 1:
            problem("duplicate_entry", {"kind": kind, "count": 1}, {"kind": kind, "entry_ids": [e.id for e in have]})
        if _entry_net(have[0]) != net:
            problem(
                "amount_mismatch",
                {"kind": kind, "postings": _shown(net)},
                {"kind": kind, "entry_id": have[0].id, "postings": _shown(_entry_net(have[0]))},
            )
    for kind, have in found.items():
        if kind not in wanted:
            for entry in have:
                problem(
                    "unexpected_entry",
                    None,
                    {
                        "kind": kind,
                        "entry_id": entry.id,
                        "postings": _shown(_entry_net(entry)),
                        "status": doc["status"],
                    },
                )
    return problems


async def reconcile(res: Resources, day: date | str) -> dict[str, Any]:
    """Check the UTC day, store the report as `rec_<date>` (replacing a previous run's) and set
    the mismatch gauge; returns the report."""
    checked_day = parse_day(day)
    start, end = day_bounds(checked_day)
    now = utcnow()
    db = res.mongo.db

    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    for collection in ("payins", "payouts", "refunds"):
        query = {"status": {"$in": list(FINAL[collection])}, "updated_at": {"$gte": start}}
        async for doc in db[collection].find(query):
            if _final_in(doc, collection, start, end):
                docs[doc["_id"]] = (collection, doc)
    e = JournalEntry
    rows = await res.db.run(
        e.select(e.transaction_id)
        .distinct()
        .where((e.created_at >= start) & (e.created_at < end) & e.kind.is_in(list(TRANSACTION_KINDS)))
    )
    of_day = {r["transaction_id"] for r in rows}
    unknown = sorted(of_day - docs.keys())
    for collection in ("payins", "payouts", "refunds"):
        if unknown:
            async for doc in db[collection].find({"_id": {"$in": unknown}}):
                docs[doc["_id"]] = (collection, doc)

    ids = sorted(docs.keys() | of_day)
    entries: dict[str, list[Entry]] = {i: [] for i in ids}
    if ids:
        for entry in await load_entries(
            res.db, "transaction_id = ANY({}::text[]) AND kind = ANY({}::text[])", ids, list(TRANSACTION_KINDS)
        ):
            entries[entry.transaction_id].append(entry)

    mismatches: list[dict[str, Any]] = []
    in_progress = 0
    for transaction_id in ids:
        if transaction_id not in docs:
            for entry in entries[transaction_id]:
                if start <= entry.created_at < end:
                    mismatches.append(
                        {
                            "transaction_id": transaction_id,
                            "problem": "entry_without_transaction",
                            "expected": None,
                            "found": {"kind": entry.kind, "entry_id": entry.id, "postings": _shown(_entry_net(entry))},
                        }
                    )
            continue
        collection, doc = docs[transaction_id]
        if in_progress_now(doc, now):
            in_progress += 1
            continue
        mismatches.extend(compare(transaction_id, collection, doc, entries[transaction_id]))

    report = {
        "date": checked_day.isoformat(),
        "generated_at": now,
        "checked": len(ids),
        "in_progress": in_progress,
        "mismatches": mismatches,
    }
    await _store(db[REPORTS], report_id(checked_day), report)
    RECONCILIATION_MISMATCHES.set(len(mismatches))
    log_call = log.warning if mismatches else log.info
    log_call("reconciliation done", date=report["date"], checked=len(ids), mismatches=len(mismatches))
    return public_report({"_id": report_id(checked_day), **report})


async def _store(collection: Any, doc_id: str, report: dict[str, Any]) -> None:
    """Replace the day's report, or insert the first one. Not `replace_one(upsert=True)`: the
    MongoDB-compatible server used in development refuses that on an existing document."""
    if await compare_and_set(collection, doc_id, lambda _old: dict(report)) is not None:
        return
    try:
        await collection.insert_one({"_id": doc_id, **report, "version": 0})
    except DuplicateKeyError:  # a concurrent run inserted it first: replace theirs
        await compare_and_set(collection, doc_id, lambda _old: dict(report))


def report_id(day: date) -> str:
    return f"rec_{day.isoformat()}"


def public_report(doc: dict[str, Any]) -> dict[str, Any]:
    generated = doc.get("generated_at")
    return {
        "id": doc["_id"],
        "object": "reconciliation_report",
        "date": doc["date"],
        "generated_at": iso(generated) if isinstance(generated, datetime) else generated,
        "checked": doc["checked"],
        "in_progress": doc.get("in_progress", 0),
        "mismatches": doc["mismatches"],
    }


async def get_report(res: Resources, day: date | str) -> dict[str, Any] | None:
    doc = await res.mongo.db[REPORTS].find_one({"_id": report_id(parse_day(day))})
    return public_report(doc) if doc else None


async def latest_mismatch_count(res: Resources) -> int:
    """Mismatches of the newest stored report (0 before the first): gateway_reconciliation_mismatches."""
    async for doc in res.mongo.db[REPORTS].find({}, {"date": 1, "mismatches": 1}).sort("date", -1).limit(1):
        return len(doc.get("mismatches") or [])
    return 0
