"""One webhook delivery attempt, and the sweep that repairs crashes (§4.7, §7 `deliver_webhook`).

State machine of a `webhook_deliveries` document:

    pending --2xx--------------------------------------------> delivered
    pending --failure, attempt n < len(schedule)--> pending   (next_attempt_at = now + schedule[n])
    pending --failure, schedule exhausted-------------------> failed
    pending --merchant has no webhook URL--------------------> skipped
    any     --manual retry (API)----------------------------> pending (attempt sent at once)

Attempt slots: attempt `n` of a delivery is sent at most once. Before sending, a run claims the
slot with one compare-and-set (a whole-document replace guarded by the document's `version`) that
requires `status == "pending"` and `claimed_attempt < n` and sets `claimed_attempt = n`. Of
runs racing on one slot (two workers, a saq retry, a manual retry racing a scheduled one)
exactly one wins; the others re-read, find the slot taken and do nothing. The claim also sets
`next_attempt_at` to a lease (`LEASE_SECONDS`) so that a worker dying mid-attempt leaves a
pending delivery the sweep re-enqueues (as slot `n + 1`).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import structlog

from core.events import ensure_delivery
from core.ids import id_floor
from core.job_refs import DELIVER_WEBHOOK, DeliveryArgs
from core.jobs_client import enqueue
from core.merchants.service import webhook_secret_of
from core.merchants.store import fetch_merchant
from core.observability.metrics import WEBHOOK_DELIVERIES
from core.resources import Resources
from core.security.outbound import check_webhook_url
from core.storage.mongo import replace_if_unchanged
from core.timeutil import iso, utcnow
from core.webhooks.signing import sign_webhook

log = structlog.get_logger("webhooks")

TIMEOUT_SECONDS = 10.0  # §4.7: delivered when the merchant answers 2xx within 10 s
EXCERPT_BYTES = 1024
LEASE_SECONDS = 90  # a claimed attempt not recorded by then is presumed lost (worker crash)
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_EVENT_LOOKBACK = timedelta(days=1)
SWEEP_EVENT_MIN_AGE = timedelta(seconds=30)
SWEEP_BATCH = 200
SWEEP_MAX = 5000
FINAL_STATUSES = ("delivered", "failed", "skipped")
CAS_TRIES = 20


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def event_body(event: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: `{"id", "type", "created_at", "data"}`."""
    return orjson.dumps(
        {"id": event["_id"], "type": event["type"], "created_at": iso(event["created_at"]), "data": event["data"]}
    )


def webhook_headers(event_id: str, secret: str, raw_body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "gateway-webhooks/1",
        "Accept-Encoding": "identity",
        "X-Webhook-Id": event_id,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": sign_webhook(secret, timestamp, raw_body),
    }


def pin_address(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Send to the checked `address` instead of resolving the name again (DNS rebinding).

    The URL gets the address as its host; `Host` and the TLS server name (SNI, and so the
    certificate check) stay the original name.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {"Host": parts.netloc}, extensions


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (its CA bundle, hostnames checked), built once per process:
    building it loads the CA bundle, which took ~45 % of the worker's CPU when every attempt's
    new client did it (issue 19)."""
    return httpx.create_ssl_context(trust_env=False)


def preferred_address(addresses: list[str]) -> str:
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    return (v4 or addresses)[0]


async def post_webhook(
    url: str,
    raw_body: bytes,
    headers: dict[str, str],
    *,
    address: str | None = None,
    timeout: float | None = None,
) -> SendResult:
    """POST once; never raises for anything the far side does. Redirects are not followed."""
    limit = TIMEOUT_SECONDS if timeout is None else timeout
    target, extra, extensions = (url, {}, {}) if address is None else pin_address(url, address)
    status: int | None = None
    excerpt = bytearray()
    error: str | None = None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(limit), follow_redirects=False, trust_env=False, verify=_tls_context()
            ) as client:
                async with client.stream(
                    "POST", target, content=raw_body, headers={**headers, **extra}, extensions=extensions
                ) as response:
                    status = response.status_code
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT_BYTES:
                            break
    except (TimeoutError, httpx.TimeoutException):
        if status is None:
            error = f"timeout: no answer within {limit:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300] if status is None else None
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    latency_ms = round((time.perf_counter() - started) * 1000)
    if error is None and status is not None and not 200 <= status < 300:
        error = f"redirect not followed (HTTP {status})" if 300 <= status < 400 else f"HTTP {status}"
    if error is None and status is None:
        error = "no answer"
    text = bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", "replace")
    return SendResult(status, latency_ms, text, error)


async def compare_and_set(res: Resources, doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any] | None:
    """Write `doc` + `changes` only if nobody wrote it since `doc` was read; else None
    (the project's one compare-and-set, core/storage/mongo.py)."""
    return await replace_if_unchanged(res.mongo.db.webhook_deliveries, doc, {**doc, **changes, "updated_at": utcnow()})


async def _claim(res: Resources, delivery_id: str, attempt: int) -> tuple[str, dict[str, Any] | None]:
    """Claim slot `attempt`: ("claimed", doc) for exactly one caller; (reason, None) for the rest."""
    coll = res.mongo.db.webhook_deliveries
    for _ in range(CAS_TRIES):
        doc = await coll.find_one({"_id": delivery_id})
        if doc is None:
            return "missing", None
        if doc["status"] in FINAL_STATUSES:
            return f"already_{doc['status']}", None
        if any(a.get("attempt") == attempt for a in doc.get("attempts", [])):
            return "already_attempted", None
        if int(doc.get("claimed_attempt", -1)) >= attempt:
            return "slot_taken", None
        lease = utcnow() + timedelta(seconds=LEASE_SECONDS)
        claimed = await compare_and_set(res, doc, {"claimed_attempt": attempt, "next_attempt_at": lease})
        if claimed is not None:
            return "claimed", claimed
    return "contended", None


async def _finish(
    res: Resources, delivery_id: str, attempt: int, entry: dict[str, Any] | None, changes: dict[str, Any]
) -> bool:
    """Record the attempt and move the state; False if a newer slot was claimed meanwhile."""
    coll = res.mongo.db.webhook_deliveries
    for _ in range(CAS_TRIES):
        doc = await coll.find_one({"_id": delivery_id})
        if doc is None:
            return False
        owner = int(doc.get("claimed_attempt", -1)) == attempt
        update = dict(changes) if owner else {}  # a newer attempt owns the state; keep this record anyway
        if entry is not None:
            update["attempts"] = [*doc.get("attempts", []), entry]
        if not update or await compare_and_set(res, doc, update) is not None:
            return owner
    raise RuntimeError(f"webhook delivery {delivery_id}: could not record attempt {attempt}")


async def deliver(res: Resources, delivery_id: str, attempt: int, *, manual: bool = False) -> str:
    """Run attempt `attempt` of the delivery; return what happened (never raises for the merchant)."""
    outcome, claimed = await _claim(res, delivery_id, attempt)
    if claimed is None:
        if outcome == "missing":
            log.warning("webhook delivery not found", delivery_id=delivery_id)
        return outcome

    event = await res.mongo.db.events.find_one({"_id": claimed["event_id"]})
    merchant = await fetch_merchant(res.db, claimed["merchant_id"])
    url = merchant["webhook_url"] if merchant else None
    if event is None or not url:
        await _finish(res, delivery_id, attempt, None, {"status": "skipped", "url": url, "next_attempt_at": None})
        WEBHOOK_DELIVERIES.add(1, {"result": "skipped"})
        log.info("webhook skipped", delivery_id=delivery_id, reason="no event" if event is None else "no webhook url")
        return "skipped"

    at = utcnow()
    allow_private = res.settings.allow_private_webhook_targets
    try:
        addresses = await check_webhook_url(url, allow_private=allow_private)
    except ValueError as exc:
        result = SendResult(None, 0, "", f"refused: {exc}")
    else:
        raw = event_body(event)
        secret = await webhook_secret_of(res, claimed["merchant_id"])
        headers = webhook_headers(event["_id"], secret, raw, int(time.time()))
        address = None if allow_private else preferred_address(addresses)
        result = await post_webhook(url, raw, headers, address=address)

    entry = {
        "attempt": attempt,
        "manual": manual,
        "at": at,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "response_excerpt": result.response_excerpt,
        "error": result.error,
    }
    schedule = res.settings.webhook_retry_schedule
    next_at = None
    if result.delivered:
        outcome, changes = "delivered", {"status": "delivered", "url": url, "next_attempt_at": None}
    elif attempt < len(schedule):
        # saq schedules in whole seconds: round up so no attempt comes before its time.
        next_at = datetime.fromtimestamp(math.ceil(time.time() + schedule[attempt]), UTC)
        outcome, changes = "attempt_failed", {"status": "pending", "url": url, "next_attempt_at": next_at}
    else:
        outcome, changes = "failed", {"status": "failed", "url": url, "next_attempt_at": None}
    if not await _finish(res, delivery_id, attempt, entry, changes):
        log.info("webhook attempt superseded", delivery_id=delivery_id, attempt=attempt, error=result.error)
        return "superseded"
    if next_at is not None:
        args = DeliveryArgs(delivery_id=delivery_id, attempt=attempt + 1)
        await enqueue(
            res.queue, DELIVER_WEBHOOK, args, key=f"{delivery_id}:{attempt + 1}", scheduled=next_at.timestamp()
        )
    WEBHOOK_DELIVERIES.add(1, {"result": outcome})
    log.info(
        "webhook attempt",
        delivery_id=delivery_id,
        event_id=claimed["event_id"],
        attempt=attempt,
        outcome=outcome,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
    )
    return outcome


async def enqueue_attempt(res: Resources, delivery_id: str, attempt: int, *, key: str, manual: bool = False) -> None:
    await enqueue(
        res.queue, DELIVER_WEBHOOK, DeliveryArgs(delivery_id=delivery_id, attempt=attempt, manual=manual), key=key
    )


async def sweep(res: Resources) -> dict[str, int]:
    """Repair crashes: events without a delivery, pending deliveries whose attempt never ran."""
    db = res.mongo.db
    now = utcnow()
    created = 0
    low = id_floor("evt", int((now - SWEEP_EVENT_LOOKBACK).timestamp() * 1000))
    high = id_floor("evt", int((now - SWEEP_EVENT_MIN_AGE).timestamp() * 1000))
    scanned = 0
    while scanned < SWEEP_MAX:
        batch = [
            e async for e in db.events.find({"_id": {"$gt": low, "$lt": high}}, sort=[("_id", 1)], limit=SWEEP_BATCH)
        ]
        if not batch:
            break
        scanned += len(batch)
        ids = [e["_id"] for e in batch]
        have = {d["event_id"] async for d in db.webhook_deliveries.find({"event_id": {"$in": ids}}, {"event_id": 1})}
        for event in batch:
            if event["_id"] not in have:
                await ensure_delivery(res, event)
                created += 1
        low = ids[-1]

    requeued = 0
    stale = db.webhook_deliveries.find(
        {"status": "pending", "next_attempt_at": {"$lt": now - SWEEP_GRACE}}, limit=SWEEP_MAX
    )
    async for doc in stale:
        due = int(doc.get("claimed_attempt", -1)) + 1
        # A fresh key each sweep minute: a job record left half-written by a Redis restart must
        # not make the requeue a no-op forever. The slot claim still sends each attempt once.
        minute = int(now.timestamp() // 60)
        await enqueue_attempt(res, doc["_id"], due, key=f"{doc['_id']}:{due}:r{minute}")
        requeued += 1
    if created or requeued:
        log.warning("webhook sweep repaired", deliveries_created=created, attempts_requeued=requeued)
    return {"deliveries_created": created, "attempts_requeued": requeued}
