"""Provider callbacks: verified, stored once, processed by a job (§5, §7).

The endpoint only verifies the provider's signature, stores the raw callback (deduplicated by
the provider's event id) and enqueues `process_provider_callback`, so a provider's retry storm
never blocks on our ledger. Processing is idempotent and a stale status never overwrites a
newer one: the state machines only allow forward moves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from core.errors import ApiError, not_found
from core.ids import new_id
from core.jobs_client import enqueue
from core.payments import payins, payouts
from core.providers.base import CallbackEvent, InvalidCallbackSignature, MalformedCallback
from core.providers.registry import ADAPTERS, get_adapter
from core.resources import Resources
from core.routing import active_ples, ple_config
from core.storage.mongo import update_doc
from core.timeutil import utcnow

log = structlog.get_logger("callbacks")


def _verify(
    res: Resources, provider: str, secrets: list[str], headers: Mapping[str, str], body: bytes
) -> CallbackEvent:
    adapter = get_adapter(provider, res.settings)
    malformed: MalformedCallback | None = None
    for secret in secrets:
        try:
            return adapter.verify_callback(secret, headers, body)
        except InvalidCallbackSignature:
            continue
        except MalformedCallback as exc:
            malformed = exc
    if malformed is not None:
        raise malformed
    raise ApiError("invalid_signature", "callback signature does not verify")


async def receive_callback(res: Resources, provider: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    if provider not in ADAPTERS:
        raise not_found("provider")
    secrets = [ple_config(res, row).secret for row in await active_ples(provider)]
    db = res.mongo.db
    try:
        event = _verify(res, provider, secrets, headers, body)
    except MalformedCallback as exc:
        digest = hashlib.sha256(body).hexdigest()
        doc = {
            "_id": new_id("cb"),
            "provider": provider,
            "event_id": f"malformed:{digest}",
            "status": "malformed",
            "raw_body": body.decode("utf-8", "replace")[:65536],
            "error": str(exc),
            "received_at": utcnow(),
        }
        try:
            await db.provider_callbacks.insert_one(doc)
        except DuplicateKeyError:
            pass
        raise ApiError("validation_error", "callback body is malformed") from None
    doc = {
        "_id": new_id("cb"),
        "provider": provider,
        "event_id": event.event_id,
        "kind": event.kind,
        "object_id": event.object_id,
        "provider_reference": event.provider_reference,
        "reported_status": event.status,
        "status": "received",
        "raw": event.raw,
        "received_at": utcnow(),
    }
    duplicate = False
    try:
        await db.provider_callbacks.insert_one(doc)
    except DuplicateKeyError:
        duplicate = True
        stored = await db.provider_callbacks.find_one({"provider": provider, "event_id": event.event_id})
        if stored is None or stored.get("status") == "processed":
            return {"received": True, "duplicate": True}
        doc = stored  # stored but never processed (the enqueue failed): the provider's retry enqueues it
    await enqueue(res.queue, "process_provider_callback", key=f"callback:{doc['_id']}", callback_id=doc["_id"])
    return {"received": True, "duplicate": duplicate}


async def process_callback(res: Resources, callback_id: str) -> str:
    """Apply one stored callback; returns what happened. Safe to run twice."""
    db = res.mongo.db
    cb = await db.provider_callbacks.find_one({"_id": callback_id})
    if cb is None or cb.get("status") in ("processed", "malformed"):
        return "nothing to do"
    structlog.contextvars.bind_contextvars(**{f"{cb['kind']}_id": cb["object_id"]})
    source = f"callback:{cb['event_id']}"
    if cb["kind"] == "payin":
        outcome = await payins_apply(res, cb, source)
    else:
        outcome = await payouts.apply_provider_status(
            res, cb["object_id"], cb["reported_status"], source=source, provider_reference=cb.get("provider_reference")
        )
    await update_doc(
        db.provider_callbacks,
        callback_id,
        lambda d: {**d, "status": "processed", "outcome": outcome, "processed_at": utcnow()},
    )
    return outcome


async def payins_apply(res: Resources, cb: dict[str, Any], source: str) -> str:
    status, payin_id = cb["reported_status"], cb["object_id"]
    if status == "succeeded":
        moved = await payins.succeed_payin(
            res, payin_id, source=source, provider_reference=cb.get("provider_reference")
        )
    elif status == "failed":
        moved = await payins.fail_payin(res, payin_id, "provider_failed", source=source)
    else:  # ambiguous: ask the provider
        return f"checked: {await payins.check_with_provider(res, payin_id, source=source)}"
    return f"moved to {status}" if moved else f"ignored {status} (stale or duplicate)"
