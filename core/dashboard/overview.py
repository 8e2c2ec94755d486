"""The numbers of the merchant overview: balances, today's and 30 days' volume and success rate.

Volume is the sum of succeeded amounts, by creation day (UTC). Success rate is succeeded out of
the transactions that reached a final state in the window (pending ones are not yet decided).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.ledger.queries import merchant_balances
from core.payments.model import FINAL, Kind
from core.resources import Resources

DAYS = 30


def _stats(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    succeeded = [d for d in docs if d["status"] == "succeeded"]
    decided = [d for d in docs if d["status"] in FINAL[Kind(kind.removesuffix("s"))]]
    return {
        "count": len(docs),
        "succeeded": len(succeeded),
        "volume": sum(int(d["amount"]) for d in succeeded),
        "success_rate": (100.0 * len(succeeded) / len(decided)) if decided else None,
    }


async def overview(res: Resources, merchant_id: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=DAYS - 1)
    out: dict[str, Any] = {"balances": await merchant_balances(res.db, merchant_id)}
    daily: dict[str, int] = {(since + timedelta(days=i)).strftime("%Y-%m-%d"): 0 for i in range(DAYS)}
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
            "today": _stats([d for d in docs if d["created_at"] >= today], kind),
            "month": _stats(docs, kind),
        }
        if kind == "payins":
            for doc in docs:
                if doc["status"] == "succeeded":
                    day = doc["created_at"].strftime("%Y-%m-%d")
                    if day in daily:
                        daily[day] += int(doc["amount"])
    out["daily_payin_volume"] = list(daily.items())
    return out
