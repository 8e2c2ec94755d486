"""Examples of the OpenAPI documents, copied from real answers of the roles to a merchant routed to
the sandbox PSP (a succeeded payin, a partial refund, an IMPS payout, then the balance, the newest
ledger entry, event and webhook delivery, a duplicate reference, an unknown id, an amount of 0).
The 401, 403, 413, 429 and 502 examples carry the gateway's own codes and messages with
illustrative request ids. tests/unit/test_openapi_documents.py validates every example against
its schema; regenerate docs/openapi/ (`just openapi`) after changing one."""

from __future__ import annotations

from typing import Any


def _error(code: str, message: str, request_id: str, **extra: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id, **extra}}


def _list(item: dict[str, Any], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": [item], "has_more": has_more}


PAYIN: dict[str, Any] = {
    "id": "pi_01M8N53B7ATFZMY0FBAFX9TGYX",
    "amount": 10000,
    "currency": "INR",
    "reference": "order-1042",
    "provider": "sandbox",
    "provider_reference": "sbx_pi_54b03d1f3fcb8c38",
    "failure_code": None,
    "needs_review": False,
    "metadata": {"cart": "c_77"},
    "status_history": [
        {"status": "pending", "at": "2026-11-30T02:38:45Z"},
        {"status": "succeeded", "at": "2026-11-30T02:38:46Z"},
    ],
    "created_at": "2026-11-30T02:38:45Z",
    "updated_at": "2026-11-30T02:38:46Z",
    "object": "payin",
    "status": "succeeded",
    "fee": 200,
    "net_amount": 9800,
    "amount_refunded": 0,
    "method": "upi",
    "late": False,
    "customer": {"name": "Asha Rao", "email": "asha@example.com"},
    "payment_url": "http://127.0.0.1:56235/pay/sbx_pi_54b03d1f3fcb8c38",
    "instructions": {"vpa": "sandbox@upi", "upi_uri": "upi://pay?pa=sandbox@upi&tr=sbx_pi_54b03d1f3fcb8c38"},
    "expires_at": "2026-11-30T02:39:15Z",
    "return_url": None,
}
REFUND: dict[str, Any] = {
    "id": "rf_01M8N53CR93502FMT5Z3R967NT",
    "amount": 2000,
    "currency": "INR",
    "reference": "rf-1042",
    "provider": "sandbox",
    "provider_reference": "sbx_rf_47468fddba064daa",
    "failure_code": None,
    "needs_review": False,
    "metadata": {},
    "status_history": [
        {"status": "pending", "at": "2026-11-30T02:38:47Z"},
        {"status": "processing", "at": "2026-11-30T02:38:47Z"},
    ],
    "created_at": "2026-11-30T02:38:47Z",
    "updated_at": "2026-11-30T02:38:47Z",
    "object": "refund",
    "status": "processing",
    "payin_id": "pi_01M8N53B7ATFZMY0FBAFX9TGYX",
    "reason": "one item returned",
}
PAYOUT: dict[str, Any] = {
    "id": "po_01M8N53CT4R4BE1YJNQZ12Q0X6",
    "amount": 5000,
    "currency": "INR",
    "reference": "po-77",
    "provider": "sandbox",
    "provider_reference": "sbx_po_7488c26cca27b1ad",
    "failure_code": None,
    "needs_review": False,
    "metadata": {},
    "status_history": [
        {"status": "pending", "at": "2026-11-30T02:38:47Z"},
        {"status": "processing", "at": "2026-11-30T02:38:47Z"},
    ],
    "created_at": "2026-11-30T02:38:47Z",
    "updated_at": "2026-11-30T02:38:47Z",
    "object": "payout",
    "status": "processing",
    "fee": 500,
    "total_debited": 5500,
    "mode": "imps",
    "beneficiary": {"name": "Ravi Kumar", "account_number": "XXXXXXXX9012", "ifsc": "HDFC0001234"},
    "narration": "vendor invoice 77",
}
LEDGER_ENTRY: dict[str, Any] = {
    "id": "je_01M8N53CT5Q7HTZ1RASEJ9VES1",
    "object": "ledger_entry",
    "kind": "payout_hold",
    "transaction_id": "po_01M8N53CT4R4BE1YJNQZ12Q0X6",
    "currency": "INR",
    "created_at": "2026-11-30T02:38:47Z",
    "postings": [{"account": "available", "amount": -5500}, {"account": "reserved", "amount": 5500}],
    "net": -5500,
}
EVENT: dict[str, Any] = {
    "id": "evt_01M8N53CV7W3116C1KN41DWXKY",
    "object": "event",
    "type": "payout.processing",
    "created_at": "2026-11-30T02:38:47Z",
    "data": PAYOUT,
}
WEBHOOK_DELIVERY: dict[str, Any] = {
    "id": "whd_01M8N53CWE630QVDMRWT74FWY6",
    "object": "webhook_delivery",
    "event_id": "evt_01M8N53CV7W3116C1KN41DWXKY",
    "event_type": "payout.processing",
    "url": None,
    "status": "pending",
    "attempts": [],
    "next_attempt_at": "2026-11-30T02:40:17Z",
    "created_at": "2026-11-30T02:38:47Z",
}

ANSWER_EXAMPLES: dict[str, Any] = {
    "Payin": PAYIN,
    "PayinList": _list(PAYIN),
    "Refund": REFUND,
    "RefundList": _list(REFUND),
    "Payout": PAYOUT,
    "PayoutList": _list(PAYOUT),
    "Balance": {"object": "balance", "data": [{"currency": "INR", "available": 2300, "reserved": 7500}]},
    "LedgerEntryList": _list(LEDGER_ENTRY, has_more=True),
    "Event": EVENT,
    "EventList": _list(EVENT, has_more=True),
    "WebhookDelivery": WEBHOOK_DELIVERY,
    "WebhookDeliveryList": _list(WEBHOOK_DELIVERY, has_more=True),
    "Echo": {"message": "hello", "count": 2},
}

ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    401: _error("invalid_signature", "signature does not match the request", "req_01M8N53D0Q2V6S3K8Y1T5W9ZCA"),
    403: _error("ip_not_allowed", "client IP is not in the merchant's whitelist", "req_01M8N53D0R7H4M2X6B9N1P3QDE"),
    404: _error("not_found", "no such payin", "req_01M8N53CY4KAN6DQY8YX3H5YJS"),
    409: _error(
        "duplicate_reference",
        "a payin with this reference exists",
        "req_01M8N53CQAR4H0Z0NF3T1TJMXD",
        param="reference",
        existing_id="pi_01M8N53B7ATFZMY0FBAFX9TGYX",
    ),
    413: _error("payload_too_large", "request body exceeds 1 MiB", "req_01M8N53D0S1F8G5J2L7K4R6TVW"),
    422: _error("validation_error", "Expected `int` >= 1", "req_01M8N53CYBWE3FWHZ4J28GQ75D", param="amount"),
    429: _error("rate_limited", "too many requests", "req_01M8N53D0T9C3D6E1H8P2Q5XYZ"),
    502: _error(
        "provider_unavailable",
        "the payment provider could not be reached; nothing was charged",
        "req_01M8N53D0V4A7B2C9E6F1G3HJK",
    ),
}

# Where the caller is not a merchant, its own refusals are the examples.
CALLER_ERROR_EXAMPLES: dict[str, dict[int, dict[str, Any]]] = {
    "admin": {
        401: _error("unauthorized", "admin token is unknown, expired or revoked", "req_01M8N53D0W2N5P8R1S4T7VXY"),
        403: _error("insufficient_scope", "this admin token lacks the write scope", "req_01M8N53D0X6Z9B3C5D8F2GHJ"),
        429: _error(
            "rate_limited",
            "too many admin tokens that did not verify from this address",
            "req_01M8N53D0Y1K4M7N9P2Q5RST",
        ),
    },
    "provider": {
        401: _error("invalid_signature", "callback signature does not verify", "req_01M8N53D0Z8V3W6X1Y4A7BCD")
    },
}
