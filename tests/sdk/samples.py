"""Objects shaped exactly as the gateway answers them (ARCHITECTURE §4.5-§4.9), for the tests
that run without the live stack."""

from __future__ import annotations

from typing import Any

PAYOUT: dict[str, Any] = {
    "id": "po_01TEST",
    "object": "payout",
    "amount": 10_000,
    "currency": "INR",
    "reference": "po-ref",
    "status": "processing",
    "fee": 500,
    "provider": "sandbox",
    "provider_reference": "sbx_po_1",
    "failure_code": None,
    "metadata": {},
    "status_history": [{"status": "pending", "at": "2026-11-23T10:15:00Z"}],
    "created_at": "2026-11-23T10:15:00Z",
    "updated_at": "2026-11-23T10:15:01Z",
    "mode": "imps",
    "beneficiary": {"name": "Ravi", "account_number": "XXXXXXXX9012", "ifsc": "HDFC0001234"},
    "narration": None,
    "total_debited": 10_500,
    "needs_review": False,
}


def refund(refund_id: str, status: str = "pending", **changes: Any) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "payin_id": "pi_01TEST",
        "amount": 2_500,
        "currency": "INR",
        "reference": f"ref-{refund_id}",
        "reason": "customer asked",
        "status": status,
        "provider": "sandbox",
        "provider_reference": None,
        "failure_code": None,
        "needs_review": False,
        "metadata": {"order": "77"},
        "status_history": [{"status": "pending", "at": "2026-11-23T10:15:00Z"}],
        "created_at": "2026-11-23T10:15:00Z",
        "updated_at": "2026-11-23T10:15:00Z",
        **changes,
    }
