"""Provider fee settlement (ARCHITECTURE §6, §7; docs/settlement.md).

A PLE's settlement for a UTC day settles the provider fees *accrued* that day: the sum of the
`provider_fee_accrued` entries crediting `ple:{id}:fees_payable` whose `created_at` falls in that
day. The accrual is posted by the state change that makes a payin or payout final, so "became
final on that date" is measured by the accrual entry's creation time.

The settlement row and the ledger transfer are written in one PostgreSQL transaction, and the
row is unique on (PLE, date, currency): of two racing settlers the second one's INSERT waits for
the first to commit and then inserts nothing, so it reports `skipped` and posts nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from piccolo.query.functions.aggregate import Sum

from core import audit
from core.errors import ApiError, not_found
from core.ids import new_id
from core.ledger import settle_provider_fees as post_settlement
from core.ledger.amounts import fees_payable
from core.resources import Resources
from core.storage.postgres import Handle
from core.storage.tables import Ple, Posting, Settlement
from core.timeutil import iso, utcnow

log = structlog.get_logger("settlement")

SETTLEMENT_COLUMNS = "id, ple_id, date, currency, total, entry_id, created_at"
REPORT_COLUMNS = ("id", "kind", "amount", "currency", "provider_fee", "provider_reference", "final_at")


def parse_day(value: date | str, param: str = "date") -> date:
    """A UTC calendar day from `YYYY-MM-DD`; ApiError validation_error otherwise."""
    if isinstance(value, date):
        return value
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ApiError("validation_error", f"{param} must be a date YYYY-MM-DD", param=param) from None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def previous_utc_day(now: datetime | None = None) -> date:
    return ((now or utcnow()).astimezone(UTC) - timedelta(days=1)).date()


def public_settlement(row: dict[str, Any], *, skipped: bool = False) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "settlement",
        "ple_id": row["ple_id"],
        "date": row["date"].isoformat() if isinstance(row["date"], date) else str(row["date"]),
        "currency": row["currency"],
        "total": row["total"],
        "entry_id": row["entry_id"],
        "created_at": iso(row["created_at"]),
        "skipped": skipped,
    }


async def _ple(db: Handle, ple_id: str) -> dict[str, Any]:
    row = await db.run(Ple.select(Ple.id, Ple.currency).where(Ple.id == ple_id).first())
    if row is None:
        raise not_found("ple")
    return row  # type: ignore[no-any-return]


async def accrued_total(db: Handle, ple_id: str, day: date, currency: str) -> int:
    """Provider fees accrued to the PLE on that UTC day (sum of accrual credits to fees_payable)."""
    start, end = day_bounds(day)
    rows = await db.run(
        Posting.select(Sum(Posting.amount).as_alias("total")).where(
            _accruals_of(ple_id, start, end) & (Posting.currency == currency)
        )
    )
    return int(rows[0]["total"] or 0)


def _accruals_of(ple_id: str, start: datetime, end: datetime) -> Any:
    """Postings of the PLE's fee accruals in [start, end): credits to its fees_payable."""
    entry = Posting.entry_id
    return (
        (Posting.account_code == fees_payable(ple_id))
        & (entry.kind == "provider_fee_accrued")  # type: ignore[attr-defined]
        & (entry.created_at >= start)  # type: ignore[attr-defined]
        & (entry.created_at < end)  # type: ignore[attr-defined]
    )


async def settle_ple_fees(
    res: Resources, ple_id: str, day: date | str, *, actor: str = "system:settlement", allow_open_day: bool = False
) -> dict[str, Any]:
    """Settle the PLE's provider fees of `day` once; the existing settlement with skipped=True
    when that day is already settled (also when a concurrent call won the race).

    A day that has not ended is refused unless `allow_open_day` (tests, and an operator closing a
    day by hand): fees accrued after its settlement would never be settled."""
    settled_day = parse_day(day)
    today = utcnow().date()
    if settled_day > today or (settled_day == today and not allow_open_day):
        raise ApiError("validation_error", "only a UTC day that has ended can be settled", param="date")
    ple = await _ple(res.db, ple_id)
    currency = ple["currency"].strip()
    total = await accrued_total(res.db, ple_id, settled_day, currency)
    settlement_id = new_id("stl")
    async with res.db.transaction() as tx:
        inserted = await tx.sql(
            "INSERT INTO settlements (id, ple_id, date, currency, total) VALUES ({}, {}, {}, {}, {})"
            f" ON CONFLICT (ple_id, date, currency) DO NOTHING RETURNING {SETTLEMENT_COLUMNS}",
            settlement_id,
            ple_id,
            settled_day,
            currency,
            total,
        )
        if inserted:
            entry = await post_settlement(tx, ple_id, settled_day, currency, total, settlement_id)
            row = inserted[0]
            if entry is not None:
                await tx.sql("UPDATE settlements SET entry_id = {} WHERE id = {}", entry.id, settlement_id)
                row["entry_id"] = entry.id
    skipped = not inserted
    if skipped:
        s = Settlement
        row = await res.db.run(
            s.select().where((s.ple_id == ple_id) & (s.date == settled_day) & (s.currency == currency)).first()
        )
    outcome = "skipped" if skipped else "settled"
    check = await _against_statement(res, ple_id, settled_day, row["total"])
    log_call = log.warning if check["fee_difference"] else log.info
    log_call(
        f"provider fees {outcome}",
        ple_id=ple_id,
        date=settled_day.isoformat(),
        settlement_id=row["id"],
        total=row["total"],
        **check,
    )
    await audit.record(
        res.mongo,
        res.db,
        actor=actor,
        action=f"settlement.{outcome}",
        target=row["id"],
        details={"ple_id": ple_id, "date": settled_day.isoformat(), "currency": currency, "total": row["total"]}
        | check,
    )
    return public_settlement(row, skipped=skipped) | check


async def _against_statement(res: Resources, ple_id: str, day: date, total: int) -> dict[str, int | None]:
    """The provider's statement fees of the day next to our settled total (docs/settlement.md):
    `fee_difference` = statement - ours, both None when the statement cannot be read."""
    from core.statement_reconciliation import statement_fee_total  # it builds on this module

    fees = await statement_fee_total(res, ple_id, day)
    return {"statement_fees": fees, "fee_difference": None if fees is None else fees - total}


async def list_settlements(
    db: Handle, limit: int, starting_after: str | None, ple_id: str | None = None, day: date | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Newest first (ids sort by creation time)."""
    query = Settlement.select().order_by(Settlement.id, ascending=False).limit(limit + 1)
    for column, value in ((Settlement.id, starting_after), (Settlement.ple_id, ple_id), (Settlement.date, day)):
        if value is not None:
            query = query.where(column < value if column is Settlement.id else column == value)
    rows = await db.run(query)
    return [public_settlement(r) for r in rows[:limit]], len(rows) > limit


async def settlement_report_rows(res: Resources, ple_id: str, day: date | str) -> list[dict[str, Any]]:
    """The transactions whose provider fee accrued to the PLE that day (what its settlement
    sums), oldest accrual first; `provider_fee` is the accrued amount from the ledger."""
    report_day = parse_day(day)
    await _ple(res.db, ple_id)
    start, end = day_bounds(report_day)
    accruals = await res.db.run(
        Posting.select(
            Posting.entry_id.transaction_id.as_alias("transaction_id"),  # type: ignore[attr-defined]
            Posting.amount,
            Posting.currency,
        )
        .where(_accruals_of(ple_id, start, end))
        .order_by(Posting.entry_id)
    )
    ids = [a["transaction_id"] for a in accruals]
    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind, collection in (("payin", res.mongo.db.payins), ("payout", res.mongo.db.payouts)):
        async for doc in collection.find({"_id": {"$in": ids}}):
            docs[doc["_id"]] = (kind, doc)
    rows = []
    for accrual in accruals:
        kind, doc = docs.get(accrual["transaction_id"], ("unknown", {}))
        rows.append(
            {
                "id": accrual["transaction_id"],
                "kind": kind,
                "amount": doc.get("amount"),
                "currency": accrual["currency"].strip(),
                "provider_fee": accrual["amount"],
                "provider_reference": doc.get("provider_reference"),
                "final_at": _iso_or_text(final_at(doc)),
            }
        )
    return rows


def final_at(doc: dict[str, Any]) -> datetime | None:
    """When the transaction first reached a fee-bearing final state (succeeded)."""
    for step in doc.get("history", []):
        if step.get("status") == "succeeded":
            return step.get("at")  # type: ignore[no-any-return]
    return None


def _iso_or_text(value: Any) -> str | None:
    return iso(value) if isinstance(value, datetime) else value


def report_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in REPORT_COLUMNS})
    return out.getvalue()


async def settled_count(res: Resources) -> int:
    """How many settlements are stored: gateway_settlements_total (core.observability.figures)."""
    return int(await res.db.run(Settlement.count()))
