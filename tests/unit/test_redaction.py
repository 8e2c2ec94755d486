"""The log redaction rules (core/observability/logging.py, docs/observability.md)."""

from __future__ import annotations

import io
import logging

import orjson
import pytest
import structlog

from core.observability.logging import configure_logging, mask_last4, redact_processor, redact_text

HMAC = "3f" * 32  # a hex HMAC-SHA256
SECRET = "sk_" + "A1b2C3d4" * 5


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (f"secret={SECRET} next", SECRET, "secret=[redacted] next"),
        (f"{{'webhook_secret': '{SECRET}'}}", SECRET, "webhook_secret"),
        ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop", "Authorization: [redacted]"),
        ("sent with bearer abcdefghijklmnop", "abcdefghijklmnop", "bearer [redacted]"),
        (f"X-Signature: {HMAC}", HMAC, "X-Signature: [redacted]"),
        (f"X-Webhook-Signature: t=1700000000,v1={HMAC}", HMAC, "X-Webhook-Signature: [redacted]"),
        (f"computed {HMAC} for body", HMAC, "[redacted-signature]"),
        (f"own secret {SECRET} in text", SECRET, "[redacted-secret]"),
        ("to account 123456789012 now", "123456789012", "********9012"),
        ("card 4111 1111 1111 1111 used", "4111 1111 1111 1111", "************1111"),
        ("acct 0012-3456-7890", "0012-3456-7890", "********7890"),
    ],
)
def test_free_text_redaction(text: str, gone: str, kept: str) -> None:
    out = redact_text(text)
    assert gone not in out and kept in out, out


@pytest.mark.parametrize(
    "text",
    [
        "Job<function=expire_payin, queued=1764294000000, scheduled=1764294002000, started=1764294002011>",
        "trace 0af7651916cd43dd8448eb211c80319c span 00f067aa0ba902b7",
        "payin pi_01M8FX900D5N4MF13MC839M79Y amount 50000",
        "took 1.234567891 s; ts: 1764294000000",
        "phone 98123456",
        "Failing row contains (mer_01M8FY6SYYX5ZW1QAJ5WF4EG9W, 2026-11-28 02:02:06.68697+00)",
    ],
)
def test_timestamps_ids_and_short_numbers_stay_readable(text: str) -> None:
    assert redact_text(text) == text


def test_keys_decide_for_structured_values() -> None:
    event = {
        "event": "x",
        "headers": {"Authorization": "Bearer abc", "X-Signature": HMAC, "content-type": "application/json"},
        "pairs": [("x-webhook-signature", "t=1,v1=abc"), ("accept", "*/*")],
        "beneficiary": {"account_number": "123456789012", "ifsc": "HDFC0001234"},
        "api_key_secret": "whatever",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "count": 123456789012,
        "raw": b"secret=abcdef",
    }
    out = redact_processor(None, "info", event)
    assert out["headers"] == {
        "Authorization": "[redacted]",
        "X-Signature": "[redacted]",
        "content-type": "application/json",
    }
    assert out["pairs"] == [["x-webhook-signature", "[redacted]"], ["accept", "*/*"]]
    assert out["beneficiary"] == {"account_number": "********9012", "ifsc": "HDFC0001234"}
    assert out["api_key_secret"] == "[redacted]" and out["raw"] == "secret=[redacted]"
    assert out["trace_id"] == event["trace_id"] and out["count"] == 123456789012


def test_mask_last4() -> None:
    assert mask_last4("123456789012") == "********9012" and mask_last4("123") == "****"


def test_exception_text_and_traceback_are_redacted_for_structlog_and_stdlib() -> None:
    stream = io.StringIO()
    saved, handlers, level = structlog.get_config(), logging.getLogger().handlers, logging.getLogger().level
    bound = structlog.contextvars.get_contextvars()
    configure_logging("unit", "INFO", stream=stream)
    try:
        try:
            raise RuntimeError(f"provider said secret={SECRET} for account 123456789012 sig {HMAC}")
        except RuntimeError:
            structlog.get_logger("unit").exception("failed")
            logging.getLogger("lib").error("library failed", exc_info=True)
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**bound)
        structlog.configure(**saved)  # the session's configuration (tests/conftest.py) again
        logging.getLogger().handlers, logging.getLogger().level = handlers, level
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert len(lines) == 2
    for line in lines:
        text = orjson.dumps(line).decode()
        assert "Traceback" in text and "********9012" in text
        assert SECRET not in text and HMAC not in text and "123456789012" not in text
        assert {"role", "request_id", "trace_id", "span_id"} <= line.keys()
