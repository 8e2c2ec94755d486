"""The chaos run's invariants from the provider's side (docs/reliability.md, issue 25): what each
sandbox says it collected and paid (`GET /__sandbox/dump`) against the gateway's documents and
ledger. The gateway is never asked whether it is right; the provider's record is the truth.

- every payin the provider marked paid is `succeeded` at the gateway and credited exactly once,
  for the amount the provider collected;
- a payin the provider never collected (or never heard of) is never credited;
- every payout and refund the provider completed is settled exactly once (never paid twice), and
  one it failed, rejected or never made is never settled;
- every object the provider knows is known to the gateway, through the PLE that made it,
  including those whose create answer the gateway never saw.

Each problem is one line starting with a stable code (`PROBLEM_CODES`), so the tests that feed
crafted states can show that each invariant reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson

from core.resources import Resources
from core.storage.postgres import Handle

# provider status -> the gateway statuses that agree with it, per kind
AGREEING = {
    "payins": {"paid": {"succeeded"}, "failed": {"failed"}, "created": {"pending", "expired", "failed"}},
    "payouts": {
        "completed": {"succeeded"},
        "reversed": {"reversed"},
        "failed": {"failed"},
        "rejected": {"failed"},
        "accepted": {"pending", "processing"},
    },
    "refunds": {
        "completed": {"succeeded"},
        "failed": {"failed"},
        "rejected": {"failed"},
        "accepted": {"pending", "processing"},
    },
}
# what the provider must have done for the gateway to move the money, and the entry that moves it
MONEY_MOVED = {"payins": {"paid"}, "payouts": {"completed", "reversed"}, "refunds": {"completed"}}
SETTLING_ENTRY = {"payins": "payin_succeeded", "payouts": "payout_succeeded", "refunds": "refund_succeeded"}
# Gateway gaps this run found and core/payments does not close yet (reported to the lead, issue 25;
# docs/reliability.md): listed apart as `known_gaps`, not failing the run, and only in exactly this
# shape. Delete an entry once its fix is merged: the run then fails on any recurrence.
KNOWN_GAPS = {
    # outcome 56: the "paid" callback dropped after the stale "failed" one was applied (a "paid"
    # that arrives is now applied as failed → succeeded); nothing asks the provider after "failed"
    ("payins", "paid", "failed", 56): "stale-failed-callback",
    # outcome 54: the "reversed" callback dropped; nothing asks the provider after "succeeded"
    ("payouts", "reversed", "succeeded", 54): "dropped-reversal",
}
PROBLEM_CODES = (
    "unknown-to-gateway",
    "wrong-ple",
    "status-disagrees",
    "not-settled",
    "settled-twice",
    "settled-wrong-amount",
    "settled-without-provider",
)


async def _settlements(db: Handle, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The settling ledger entries (credit of a payin, debit of a payout or refund) of `ids`."""
    if not ids:
        return {}
    rows = await db.sql(
        "SELECT transaction_id, kind, metadata FROM journal_entries"
        " WHERE transaction_id = ANY({}::text[]) AND kind = ANY({}::text[])",
        ids,
        list(SETTLING_ENTRY.values()),
    )
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["transaction_id"]].append(row)
    return out


def _amount(entry: dict[str, Any]) -> int | None:
    meta = entry["metadata"]
    if isinstance(meta, str | bytes):
        meta = orjson.loads(meta)
    return (meta or {}).get("amount")


async def provider_problems(res: Resources, dumps: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """`dumps`: each PLE's sandbox dump, by PLE id. Gateway documents of other PLEs are not
    looked at. Returns the problems and the provider-side totals (with the `known_gaps`)."""
    db = res.mongo.db
    ples = list(dumps)
    problems: list[str] = []
    gaps: list[str] = []
    totals: dict[str, Any] = {}
    for kind in ("payins", "payouts", "refunds"):
        provider = {
            row["id"]: (ple_id, row) for ple_id, dump in dumps.items() for row in dump.get(kind, []) if row["status"]
        }
        docs = {
            d["_id"]: d
            for d in await db[kind]
            .find({"$or": [{"ple_id": {"$in": ples}}, {"_id": {"$in": list(provider)}}]})
            .to_list(None)
        }
        entries = await _settlements(res.db, sorted(set(provider) | set(docs)))
        totals[kind] = dict(Counter(row["status"] for _, row in provider.values()))
        for object_id, (ple_id, row) in provider.items():
            doc = docs.get(object_id)
            found = _check_known(kind, object_id, ple_id, row, doc, entries.get(object_id, []))
            gap = doc and KNOWN_GAPS.get((kind, row["status"], doc["status"], row["amount"] % 100))
            if found and gap:
                gaps += [f"{gap}: {line}" for line in found]
            else:
                problems += found
        for object_id, doc in docs.items():
            if object_id in provider:
                continue
            settled = entries.get(object_id, [])
            if settled or doc["status"] in ("succeeded", "reversed"):
                problems.append(
                    f"settled-without-provider: {kind[:-1]} {object_id} is {doc['status']} with {len(settled)}"
                    f" settling entries, but its provider never {'collected' if kind == 'payins' else 'paid'} it"
                )
    totals["known_gaps"] = gaps
    return problems, totals


def _check_known(
    kind: str, object_id: str, ple_id: str, row: dict[str, Any], doc: dict[str, Any] | None, settled: list[dict]
) -> list[str]:
    name, status = f"{kind[:-1]} {object_id} ({row['amount']})", row["status"]
    if doc is None:
        return [f"unknown-to-gateway: {name} is {status} at PLE {ple_id}'s provider, absent at the gateway"]
    problems = []
    if doc["ple_id"] != ple_id:
        problems.append(f"wrong-ple: {name} was made at PLE {ple_id}, the gateway has {doc['ple_id']}")
    if doc["status"] not in AGREEING[kind].get(status, {doc["status"]}):
        problems.append(f"status-disagrees: {name} is {status} at the provider, {doc['status']} here")
    moved = status in MONEY_MOVED[kind]
    if moved and not settled:
        problems.append(f"not-settled: {name} is {status} at the provider, never settled in the ledger")
    elif len(settled) > 1:
        problems.append(f"settled-twice: {name} has {len(settled)} settling entries")
    elif settled and not moved:
        problems.append(f"settled-without-provider: {name} is {status} at the provider, yet settled")
    if moved and settled and any(_amount(e) != row["amount"] for e in settled):
        problems.append(
            f"settled-wrong-amount: {name}: the provider moved {row['amount']},"
            f" the ledger {[_amount(e) for e in settled]}"
        )
    return problems
