"""Three-way reconciliation: a PLE's provider statement against our transactions and our ledger
(ARCHITECTURE §7; docs/settlement.md "Three-way reconciliation"; issue 24).

Per PLE and UTC day, every statement line (money the provider says moved) is matched by its
`our_reference` with the transaction of that kind, and every transaction that *succeeded here*
that day through the PLE must have a line. Each disagreement is a break with the amount at stake:

- `collected_not_succeeded`: the provider moved it, we have no such transaction or it has not
  succeeded (a late or lost callback): `apply` asks the provider and applies its answer through
  the normal state machine, the path a poll takes.
- `missing_from_statement` (critical): succeeded here, the provider never moved it: money credited
  that was never collected (e.g. a forged success).
- `amount_mismatch` / `fee_mismatch`: statement minus ours.
- `duplicate`: a line listed more than once; the amount of the extra lines.
- `ledger_mismatch`: the transaction and its ledger entries disagree (ledger minus transaction).

A transaction still applying its effects is counted `in_progress`, not checked against the ledger.
The result replaces the (PLE, day) row of `statement_reconciliations`, so reruns are safe.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import orjson
import structlog

from core import audit
from core.errors import ApiError, not_found
from core.ledger.amounts import clearing, fees_payable
from core.ledger.posting import load_entries
from core.observability.figures import FIGURES
from core.payments.model import COLLECTION, Kind
from core.providers.base import PleConfig, ProviderUnavailable, StatementLine
from core.providers.directory import UnknownPle
from core.providers.registry import get_adapter
from core.reconciliation import in_progress_now
from core.resources import Resources
from core.settlement import day_bounds, parse_day
from core.storage.postgres import Handle
from core.timeutil import iso, utcnow

log = structlog.get_logger("reconciliation")

CRITICAL = frozenset({"missing_from_statement"})
# Statuses in which the provider has moved the money of a transaction (a reversed payout was paid).
MOVED = {Kind.PAYIN: ("succeeded",), Kind.PAYOUT: ("succeeded", "reversed"), Kind.REFUND: ("succeeded",)}
SUCCESS_ENTRY = {Kind.PAYIN: "payin_succeeded", Kind.PAYOUT: "payout_succeeded", Kind.REFUND: "refund_succeeded"}
CSV_COLUMNS = ("date", "ple_id", "kind", "severity", "type", "transaction_id", "amount", "action", "detail")
COLUMNS = (
    "ple_id, date, generated_at, statement_lines, statement_amount, statement_fees, matched, in_progress,"
    " breaks, break_count, critical_count"
)


def _break(kind: str, line_kind: str, transaction_id: str, amount: int, **detail: Any) -> dict[str, Any]:
    action = detail.pop("action", "investigate")
    severity = "critical" if kind in CRITICAL else "error"
    return {"kind": kind, "severity": severity, "type": line_kind, "transaction_id": transaction_id} | {
        "amount": amount,
        "action": action,
        **detail,
    }


def _line_view(line: StatementLine) -> dict[str, Any]:
    return {"amount": line.amount, "fee": line.fee, "currency": line.currency, "reference": line.provider_reference}


def _succeeded_in(doc: dict[str, Any], start: datetime, end: datetime) -> bool:
    for step in doc.get("history", []):
        at = step.get("at")
        if step.get("status") == "succeeded" and isinstance(at, datetime):
            at = at if at.tzinfo else at.replace(tzinfo=start.tzinfo)
            if start <= at < end:
                return True
    return False


async def _ours(res: Resources, ple_id: str, day: date, lines: list[StatementLine]) -> dict[tuple[Kind, str], Any]:
    """(kind, id) -> document: what succeeded here that day through the PLE, and what the lines name."""
    start, end = day_bounds(day)
    docs: dict[tuple[Kind, str], Any] = {}
    for kind in MOVED:
        collection = res.mongo.db[COLLECTION[kind]]
        async for doc in collection.find({"ple_id": ple_id, "updated_at": {"$gte": start}}):
            if _succeeded_in(doc, start, end):
                docs[(kind, doc["_id"])] = doc
        named = sorted({line.our_reference for line in lines if line.kind == kind})
        if named:
            async for doc in collection.find({"_id": {"$in": named}}):
                docs[(kind, doc["_id"])] = doc
    return docs


async def _ledger(db: Handle, ple_id: str, ids: list[str]) -> dict[str, dict[str, int]]:
    """Per transaction: what its success entry moved through the PLE's clearing account and the
    provider fee it accrued, as the ledger has them."""
    found: dict[str, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return found
    kinds = [*SUCCESS_ENTRY.values(), "provider_fee_accrued"]
    for entry in await load_entries(db, "transaction_id = ANY({}::text[]) AND kind = ANY({}::text[])", ids, kinds):
        booked = found[entry.transaction_id]
        for posting in entry.postings:
            if entry.kind == "provider_fee_accrued" and posting.account_code == fees_payable(ple_id):
                booked["fee"] = booked.get("fee", 0) + posting.amount
            elif entry.kind != "provider_fee_accrued" and posting.account_code == clearing(ple_id):
                booked["amount"] = booked.get("amount", 0) + abs(posting.amount)
    return found


def match(
    ple_id: str, lines: list[StatementLine], docs: dict[tuple[Kind, str], Any], ledger: dict[str, dict[str, int]]
) -> tuple[list[dict[str, Any]], int, int]:
    """The breaks, how many lines matched a succeeded transaction, and how many were in progress."""
    now = utcnow()
    grouped: dict[tuple[Kind, str], list[StatementLine]] = {}
    for line in lines:
        grouped.setdefault((line.kind, line.our_reference), []).append(line)
    breaks: list[dict[str, Any]] = []
    matched = in_progress = 0
    for key, group in grouped.items():
        kind, ref = key
        line = group[0]
        if len(group) > 1:
            extra = sum(extra.amount for extra in group[1:])
            breaks.append(_break("duplicate", kind, ref, extra, count=len(group), statement=_line_view(line)))
        doc = docs.get(key)
        ours_here = doc is not None and doc.get("ple_id") == ple_id
        if not ours_here or doc["status"] not in MOVED[kind]:
            status = doc["status"] if ours_here else None
            breaks.append(
                _break(
                    "collected_not_succeeded",
                    kind,
                    ref,
                    line.amount,
                    action="apply" if ours_here else "investigate",
                    statement=_line_view(line),
                    ours={"status": status},
                )
            )
            continue
        matched += 1
        ours = {"status": doc["status"], "amount": doc["amount"], "provider_fee": doc.get("provider_fee", 0)}
        sides = {"statement": _line_view(line), "ours": ours}
        if line.amount != doc["amount"]:
            breaks.append(_break("amount_mismatch", kind, ref, line.amount - doc["amount"], **sides))
        if line.fee != ours["provider_fee"]:
            breaks.append(_break("fee_mismatch", kind, ref, line.fee - ours["provider_fee"], **sides))
        if in_progress_now(doc, now):
            in_progress += 1
            continue
        booked = ledger.get(ref, {})
        if booked.get("amount", 0) != doc["amount"] or booked.get("fee", 0) != ours["provider_fee"]:
            breaks.append(
                _break("ledger_mismatch", kind, ref, booked.get("amount", 0) - doc["amount"], ours=ours, ledger=booked)
            )
    for (kind, ref), doc in docs.items():
        if (kind, ref) not in grouped and doc.get("ple_id") == ple_id and doc["status"] in MOVED[kind]:
            ours = {"status": doc["status"], "amount": doc["amount"], "provider_fee": doc.get("provider_fee", 0)}
            breaks.append(_break("missing_from_statement", kind, ref, doc["amount"], statement=None, ours=ours))
    return breaks, matched, in_progress


async def fetch_statement(res: Resources, ple_id: str, day: date) -> tuple[PleConfig, list[StatementLine]]:
    """The PLE's statement of the day from its provider; ApiError not_found / provider_unavailable."""
    try:
        ple = await res.ples.get(ple_id)
    except UnknownPle:
        raise not_found("ple") from None
    try:
        return ple, await get_adapter(ple.provider, res.settings).fetch_statement(ple, day)
    except ProviderUnavailable as exc:
        raise ApiError("provider_unavailable", f"the provider's statement could not be read ({exc.kind})") from None


async def statement_fee_total(res: Resources, ple_id: str, day: date) -> int | None:
    """The fees the PLE's provider charged that day by its statement; None when it cannot be read."""
    try:
        _, lines = await fetch_statement(res, ple_id, day)
    except ApiError as exc:
        log.warning("statement fees unknown", ple_id=ple_id, date=day.isoformat(), error=exc.code)
        return None
    return sum(line.fee for line in lines)


async def reconcile_statement(res: Resources, ple_id: str, day: date | str) -> dict[str, Any]:
    """Reconcile the PLE's day three ways, store the result (replacing a rerun's) and return it."""
    checked_day = parse_day(day)
    ple, lines = await fetch_statement(res, ple_id, checked_day)
    docs = await _ours(res, ple.ple_id, checked_day, lines)
    ledger = await _ledger(res.db, ple.ple_id, sorted({ref for _, ref in docs}))
    breaks, matched, in_progress = match(ple.ple_id, lines, docs, ledger)
    critical = sum(1 for b in breaks if b["severity"] == "critical")
    rows = await res.db.sql(
        f"INSERT INTO statement_reconciliations ({COLUMNS})"
        " VALUES ({}, {}, now(), {}, {}, {}, {}, {}, {}::jsonb, {}, {})"
        " ON CONFLICT (ple_id, date) DO UPDATE SET generated_at = now(),"
        " statement_lines = EXCLUDED.statement_lines, statement_amount = EXCLUDED.statement_amount,"
        " statement_fees = EXCLUDED.statement_fees, matched = EXCLUDED.matched,"
        " in_progress = EXCLUDED.in_progress, breaks = EXCLUDED.breaks,"
        " break_count = EXCLUDED.break_count, critical_count = EXCLUDED.critical_count"
        f" RETURNING {COLUMNS}",
        ple.ple_id,
        checked_day,
        len(lines),
        sum(line.amount for line in lines),
        sum(line.fee for line in lines),
        matched,
        in_progress,
        orjson.dumps(breaks).decode(),
        len(breaks),
        critical,
    )
    await refresh_break_figures(res.db)
    log_call = log.error if critical else log.warning if breaks else log.info
    log_call("three-way reconciliation done", ple_id=ple.ple_id, date=checked_day.isoformat(), breaks=len(breaks))
    return public_statement_report(rows[0])


def public_statement_report(row: dict[str, Any]) -> dict[str, Any]:
    breaks = row["breaks"]
    return {
        "id": f"srec_{row['ple_id']}_{row['date'].isoformat()}",
        "object": "statement_reconciliation",
        "ple_id": row["ple_id"],
        "date": row["date"].isoformat(),
        "generated_at": iso(row["generated_at"]),
        "statement": {
            "lines": row["statement_lines"],
            "amount": row["statement_amount"],
            "fees": row["statement_fees"],
        },
        "matched": row["matched"],
        "in_progress": row["in_progress"],
        "break_count": row["break_count"],
        "critical_count": row["critical_count"],
        "breaks": orjson.loads(breaks) if isinstance(breaks, str | bytes) else breaks,
    }


async def get_statement_reports(db: Handle, day: date | str, ple_id: str | None = None) -> list[dict[str, Any]]:
    """The stored three-way results of the day (one PLE's, or every PLE's by id)."""
    rows = await db.sql(
        f"SELECT {COLUMNS} FROM statement_reconciliations WHERE date = {{}} AND ({{}}::text IS NULL OR ple_id = {{}})"
        " ORDER BY ple_id",
        parse_day(day),
        ple_id,
        ple_id,
    )
    return [public_statement_report(r) for r in rows]


def breaks_csv(reports: list[dict[str, Any]]) -> str:
    """One CSV line per break; `detail` holds the statement/ours/ledger sides as JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in reports:
        for brk in report["breaks"]:
            detail = {k: brk[k] for k in ("statement", "ours", "ledger", "count") if brk.get(k) is not None}
            row = {k: brk.get(k, "") for k in CSV_COLUMNS} | {"date": report["date"], "ple_id": report["ple_id"]}
            writer.writerow(row | {"detail": orjson.dumps(detail).decode()})
    return out.getvalue()


async def break_totals(db: Handle) -> tuple[int, int]:
    """(breaks, critical) over every PLE on the newest reconciled day: gateway_reconciliation_breaks."""
    rows = await db.sql(
        "SELECT COALESCE(SUM(break_count), 0)::int AS n, COALESCE(SUM(critical_count), 0)::int AS c"
        " FROM statement_reconciliations WHERE date = (SELECT max(date) FROM statement_reconciliations)"
    )
    return int(rows[0]["n"]), int(rows[0]["c"])


async def refresh_break_figures(db: Handle) -> None:
    breaks, critical = await break_totals(db)
    FIGURES.set("reconciliation_breaks", breaks - critical)
    FIGURES.set("reconciliation_breaks_critical", critical)


async def apply_collected(res: Resources, ple_id: str, day: date | str, transaction_id: str, *, actor: str) -> str:
    """Settle a `collected_not_succeeded` break the way a poll would: ask the provider for the
    transaction's status and apply the answer through its state machine (never the statement's
    word alone). Returns the status afterwards; not_found when no such applicable break is stored."""
    from core.job_refs import PollArgs
    from core.payments import payins, submission
    from core.payments.kinds import SUBMITTERS

    stored = [b for r in await get_statement_reports(res.db, day, ple_id) for b in r["breaks"]]
    wanted = ("collected_not_succeeded", transaction_id, "apply")
    found = next((b for b in stored if (b["kind"], b["transaction_id"], b["action"]) == wanted), None)
    if found is None:
        raise not_found("applicable reconciliation break")
    kind = Kind(found["type"])
    try:
        if kind == Kind.PAYIN:
            await payins.check_with_provider(res, transaction_id, source="statement")
        else:  # the poll logs an unanswered query and leaves the transaction as it was
            await submission.poll(res, SUBMITTERS[kind], PollArgs(id=transaction_id))
    except ProviderUnavailable as exc:
        raise ApiError("provider_unavailable", f"the provider did not answer ({exc.kind})") from None
    doc = await res.mongo.db[COLLECTION[kind]].find_one({"_id": transaction_id}, {"status": 1})
    status = str(doc["status"]) if doc else "unknown"
    await audit.record(
        res.mongo,
        res.db,
        actor=actor,
        action="reconciliation.applied",
        target=transaction_id,
        details={"ple_id": ple_id, "date": parse_day(day).isoformat(), "status": status},
    )
    return status
