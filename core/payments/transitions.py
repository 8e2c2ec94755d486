"""The one way a payin or payout changes state: a conditional write in MongoDB.

The write only succeeds when the document is in an allowed `from` state (an optimistic replace on
its version, core/storage/mongo.update_doc), so of two racing changes exactly one wins; the
winner's document comes back with `effects_pending: true`. The effects of the new state (ledger
entries, the event, the audit entry) are then applied by idempotent steps and the flag cleared;
a crash in between leaves the flag set and the sweep applies them again (docs/payments.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from core.storage.mongo import update_doc
from core.timeutil import utcnow


async def transition(
    collection: AsyncCollection[dict[str, Any]],
    doc_id: str,
    *,
    to: str,
    allowed_from: Iterable[str],
    source: str,
    fields: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Move `doc_id` to `to` if it is in one of `allowed_from`; None when another change won.
    `fields` (or a function of the current document giving them) are set in the same write."""
    allowed = set(allowed_from)

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc["status"] not in allowed:
            return None
        now = utcnow()
        doc.update(fields(doc) if callable(fields) else (fields or {}))
        doc.update(status=to, updated_at=now, effects_pending=True)
        doc["history"] = [*doc.get("history", []), {"status": to, "at": now, "source": source}]
        return doc

    return await update_doc(collection, doc_id, change)


async def effects_done(collection: AsyncCollection[dict[str, Any]], doc_id: str, status: str) -> None:
    """Clear the flag, unless the document has moved on again (its own effects are pending)."""

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        return {**doc, "effects_pending": False} if doc["status"] == status and doc.get("effects_pending") else None

    await update_doc(collection, doc_id, change)


Effect = Callable[[dict[str, Any], str], Awaitable[None]]


async def apply_effects(
    collection: AsyncCollection[dict[str, Any]], doc: dict[str, Any], effects: dict[str, Effect]
) -> None:
    """Run the effect of every state the document passed through and has not had applied, in
    order (a reversal's ledger entry needs the settlement's). Each effect is idempotent, and
    `effects_applied` records progress, so a crash repeats at most one idempotent step."""
    applied = set(doc.get("effects_applied", []))
    for step in doc.get("history", []):
        status = step["status"]
        if status in applied or status not in effects:
            continue
        await effects[status](doc, step.get("source", "system"))
        await update_doc(collection, doc["_id"], lambda d, s=status: _mark_applied(d, s))
        applied.add(status)
    await effects_done(collection, doc["_id"], doc["status"])


def _mark_applied(doc: dict[str, Any], status: str) -> dict[str, Any] | None:
    done = doc.get("effects_applied", [])
    return None if status in done else {**doc, "effects_applied": [*done, status]}
