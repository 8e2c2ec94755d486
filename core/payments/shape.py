"""The fields every payin and payout object shares in the API (one shape, as Stripe's objects)."""

from __future__ import annotations

from typing import Any

from core.timeutil import iso


def transaction_fields(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "object": kind,
        "amount": doc["amount"],
        "currency": doc["currency"],
        "reference": doc["reference"],
        "status": doc["status"],
        "fee": doc["fee"],
        "provider": doc["provider"],
        "provider_reference": doc.get("provider_reference"),
        "failure_code": doc.get("failure_code"),
        "metadata": doc.get("metadata", {}),
        "status_history": [{"status": h["status"], "at": iso(h["at"])} for h in doc.get("history", [])],
        "created_at": iso(doc["created_at"]),
        "updated_at": iso(doc["updated_at"]),
    }
