"""The numbers of the merchant overview: balances, volume and success rate today, over 7 and
over 30 days.

Volume is the sum of succeeded amounts, by creation day in the client's timezone. Success rate is succeeded out of
the transactions that reached a final state in the window (pending ones are not yet decided).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.ledger.queries import merchant_balances
from core.payments.model import FINAL, Kind
from core.resources import Resources

DAYS = 30
WINDOWS = {"today": 1, "week": 7, "month": DAYS}  # name → days, today included


def _stats(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    succeeded = [d for d in docs if d["status"] == "succeeded"]
    decided = [d for d in docs if d["status"] in FINAL[Kind(kind.removesuffix("s"))]]
    return {
        "count": len(docs),
        "succeeded": len(succeeded),
        "volume": sum(int(d["amount"]) for d in succeeded),
        "success_rate": (100.0 * len(succeeded) / len(decided)) if decided else None,
    }


async def overview(
    res: Resources, merchant_id: str, timezone: str = "UTC", now: datetime | None = None
) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    local_today = (now or datetime.now(UTC)).astimezone(zone).date()
    starts = {
        name: datetime.combine(local_today - timedelta(days=days - 1), time.min, tzinfo=zone).astimezone(UTC)
        for name, days in WINDOWS.items()
    }
    since = starts["month"]
    first_day = local_today - timedelta(days=DAYS - 1)
    out: dict[str, Any] = {"balances": await merchant_balances(res.db, merchant_id)}
    daily: dict[str, int] = {(first_day + timedelta(days=i)).isoformat(): 0 for i in range(DAYS)}
    for kind in ("payins", "payouts"):
        docs = (
            await res.mongo.db[kind]
            .find(
                {"merchant_id": merchant_id, "created_at": {"$gte": since}},
                projection={"amount": 1, "status": 1, "created_at": 1},
            )
            .to_list(None)
        )
        for doc in docs:
            created = doc["created_at"]
            if isinstance(created, str):  # defensive: a store that returned text for a datetime
                created = datetime.fromisoformat(created.replace("Z", "+00:00"))
            doc["created_at"] = created if created.tzinfo else created.replace(tzinfo=UTC)
        out[kind] = {
            name: _stats([d for d in docs if d["created_at"] >= start], kind) for name, start in starts.items()
        }
        if kind == "payins":
            for doc in docs:
                if doc["status"] == "succeeded":
                    day = doc["created_at"].astimezone(zone).date().isoformat()
                    if day in daily:
                        daily[day] += int(doc["amount"])
    out["daily_payin_volume"] = list(daily.items())
    return out
