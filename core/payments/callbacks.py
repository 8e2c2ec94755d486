"""Provider callbacks: verified, bound to the PLE that signed them, stored once, applied by a job.

Trust boundary (ARCHITECTURE §5): a callback changes only a transaction routed through the PLE
whose credentials verified it. The endpoint tries the secrets of the provider's PLEs (only the
named one's on `/v1/callbacks/{provider}/{ple_id}`), then looks up the transaction the callback
names: signed by another PLE than the transaction's → 401 `invalid_signature`, nothing changes,
an audit entry and a counter. Accepted callbacks are stored with the verifying PLE (deduplicated
by the provider's event id) and `process_provider_callback` applies them through the kind's
state machine, which checks the PLE again and the amount and currency before anything moves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

import msgspec
import structlog
from pymongo.errors import DuplicateKeyError

from core import audit
from core.errors import ApiError, not_found
from core.ids import new_id
from core.job_refs import PROCESS_PROVIDER_CALLBACK, CallbackArgs
from core.jobs_client import enqueue
from core.observability.metrics import CALLBACKS_REJECTED
from core.payments.kinds import MACHINES
from core.payments.machine import apply_report
from core.payments.model import COLLECTION, Kind, Outcome, ProviderReport
from core.providers.base import CallbackEvent, InvalidCallbackSignature, MalformedCallback, PleConfig
from core.providers.directory import UnknownPle
from core.providers.registry import UnknownProvider, get_adapter
from core.resources import Resources
from core.storage.mongo import compare_and_set
from core.timeutil import utcnow

log = structlog.get_logger("callbacks")


class CallbackReceipt(msgspec.Struct, frozen=True):
    received: bool
    duplicate: bool


class StoredCallback(msgspec.Struct, kw_only=True):
    """A verified callback as kept in `provider_callbacks`."""

    id: str = msgspec.field(name="_id")
    provider: str
    ple_id: str  # the PLE whose secret verified it
    event_id: str
    kind: Kind
    object_id: str
    provider_reference: str | None
    reported_status: str
    amount: int
    currency: str
    status: str  # received | processed | unknown_object
    outcome: str | None = None
    received_at: datetime


def _reject(provider: str, reason: str) -> ApiError:
    CALLBACKS_REJECTED.add(1, {"provider": provider, "reason": reason})
    return ApiError("invalid_signature", "callback signature does not verify")


async def _verify(
    res: Resources, provider: str, ple_id: str | None, headers: Mapping[str, str], body: bytes
) -> tuple[CallbackEvent, list[PleConfig]]:
    """The event and every PLE whose secret verifies it (normally one)."""
    adapter = get_adapter(provider, res.settings)
    for fresh in (False, True):  # a miss may be a PLE created or rotated a moment ago
        if ple_id is not None:
            try:
                candidates = [await res.ples.get(ple_id)]
            except UnknownPle:
                raise _reject(provider, "invalid_signature") from None
        else:
            candidates = await res.ples.of_provider(provider, fresh=fresh)
        verified: list[PleConfig] = []
        event: CallbackEvent | None = None
        for ple in candidates:
            if ple.provider != provider:
                continue
            try:
                event = adapter.verify_callback(ple.secret, headers, body)
            except InvalidCallbackSignature:
                continue
            verified.append(ple)
        if event is not None:
            return event, verified
        if ple_id is not None:
            break
    raise _reject(provider, "invalid_signature")


async def receive_callback(
    res: Resources, provider: str, headers: Mapping[str, str], body: bytes, *, ple_id: str | None = None
) -> CallbackReceipt:
    try:
        get_adapter(provider, res.settings)
    except UnknownProvider:
        raise not_found("provider") from None
    try:
        event, verified = await _verify(res, provider, ple_id, headers, body)
    except MalformedCallback as exc:
        await _keep_malformed(res, provider, body, str(exc))
        CALLBACKS_REJECTED.add(1, {"provider": provider, "reason": "malformed"})
        raise ApiError("validation_error", "callback body is malformed") from None
    target = await res.mongo.db[COLLECTION[event.kind]].find_one({"_id": event.object_id}, {"ple_id": 1})
    owner = target["ple_id"] if target else None
    if owner is not None and owner not in {p.ple_id for p in verified}:
        # Signed by one PLE about another PLE's money: refused whole, audited, counted (alerts).
        await audit.record(
            res.mongo,
            res.db,
            actor=f"provider:{provider}",
            action="callback.rejected",
            target=event.object_id,
            details={
                "reason": "ple_mismatch",
                "verified_by": sorted(p.ple_id for p in verified),
                "event": event.event_id,
            },
        )
        log.error("callback signed by another PLE refused", object_kind=event.kind, event_id=event.event_id)
        raise _reject(provider, "ple_mismatch")
    stored = StoredCallback(
        id=new_id("cb"),
        provider=provider,
        ple_id=owner or verified[0].ple_id,
        event_id=event.event_id,
        kind=event.kind,
        object_id=event.object_id,
        provider_reference=event.provider_reference,
        reported_status=event.status,
        amount=event.amount,
        currency=event.currency,
        status="received" if owner else "unknown_object",
        received_at=utcnow(),
    )
    doc = {**msgspec.to_builtins(stored, builtin_types=(datetime,)), "raw": event.raw}
    callbacks = res.mongo.db.provider_callbacks
    try:
        await callbacks.insert_one(doc)
    except DuplicateKeyError:
        earlier = await callbacks.find_one({"provider": provider, "event_id": event.event_id})
        if earlier is None or earlier.get("status") != "received":
            return CallbackReceipt(received=True, duplicate=True)
        stored = msgspec.convert(earlier, StoredCallback)  # stored, never processed: enqueue it now
    if owner is None:
        CALLBACKS_REJECTED.add(1, {"provider": provider, "reason": "unknown_object"})
        log.warning("callback about an unknown transaction kept, not applied", event_id=event.event_id)
        return CallbackReceipt(received=True, duplicate=False)
    args = CallbackArgs(callback_id=stored.id)
    await enqueue(res.queue, PROCESS_PROVIDER_CALLBACK, args, key=f"callback:{stored.id}")
    return CallbackReceipt(received=True, duplicate=stored.id != doc["_id"])


async def _keep_malformed(res: Resources, provider: str, body: bytes, error: str) -> None:
    doc = {
        "_id": new_id("cb"),
        "provider": provider,
        "event_id": f"malformed:{hashlib.sha256(body).hexdigest()}",
        "status": "malformed",
        "raw_body": body.decode("utf-8", "replace")[:65536],
        "error": error,
        "received_at": utcnow(),
    }
    try:
        await res.mongo.db.provider_callbacks.insert_one(doc)
    except DuplicateKeyError:
        pass


async def process_callback(res: Resources, callback_id: str) -> str:
    """Apply one stored callback; returns what happened. Safe to run twice."""
    callbacks = res.mongo.db.provider_callbacks
    raw = await callbacks.find_one({"_id": callback_id})
    if raw is None or raw.get("status") != "received":
        return "nothing to do"
    cb = msgspec.convert(raw, StoredCallback)
    structlog.contextvars.bind_contextvars(**{f"{cb.kind}_id": cb.object_id})
    report = ProviderReport(
        ple_id=cb.ple_id,
        status=cb.reported_status,
        amount=cb.amount,
        currency=cb.currency,
        provider_reference=cb.provider_reference,
        source=f"callback:{cb.event_id}",
    )
    result = await apply_report(res, MACHINES[cb.kind], report, cb.object_id, drain_now=True)
    outcome = f"{result.outcome}: {cb.reported_status}"
    if result.outcome == Outcome.MISMATCH:
        log.error("callback not applied: it disagrees with the transaction", event_id=cb.event_id)

    def processed(doc: dict[str, object]) -> dict[str, object]:
        return {**doc, "status": "processed", "outcome": outcome, "processed_at": utcnow()}

    await compare_and_set(callbacks, callback_id, processed, current=raw)
    return outcome
