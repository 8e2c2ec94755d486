"""Anchoring the audit chain's head in PostgreSQL while entries are appended (§8).

Every serving role runs `anchor_loop`: every ANCHOR_INTERVAL_SECONDS it reads the chain's tip
from MongoDB and, when it moved past the newest anchor, records (seq, hash) in PostgreSQL. An
entry is therefore anchored within a few seconds of its append (the contract says 10), by
whichever role sees it first, also when a CLI command appended it. A tip that does not verify
under its key, or a chain that became shorter than its anchor, is never anchored: it is logged
as an error for the operator (and `gateway audit verify` names it).
"""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from pymongo import DESCENDING

from core import audit
from core.background import run_every
from core.security import audit_keys
from core.storage.mongo import Mongo
from core.storage.postgres import Handle

ANCHOR_INTERVAL_SECONDS = 2.0

log = structlog.get_logger("audit")


async def anchor_tip(mongo: Mongo, keys: Handle) -> int | None:
    """Anchor the current tip if it is new; returns the seq anchored now (None when nothing was)."""
    chain = mongo.db.name
    tip: dict[str, Any] | None = await mongo.db[audit.COLLECTION].find_one({}, sort=[("seq", DESCENDING)])
    if tip is None:
        return None
    anchored = await audit_keys.latest_anchor(keys, chain)
    if anchored is not None and tip["seq"] <= anchored[0]:
        if tip["seq"] < anchored[0]:
            log.error("audit chain ends before its anchor", chain=chain, tip=tip["seq"], anchored=anchored[0])
        return None
    wanted = await audit.expected_hash(keys, tip)
    if wanted is None or not hmac.compare_digest(wanted, str(tip.get("hash"))):
        log.error("audit tip does not verify; not anchored", chain=chain, seq=tip["seq"])
        return None
    await audit_keys.store_anchor(keys, chain, int(tip["seq"]), str(tip["hash"]))
    return int(tip["seq"])


async def anchor_loop(mongo: Mongo, keys: Handle, interval: float = ANCHOR_INTERVAL_SECONDS) -> None:
    """Run until cancelled; a failing round (a database down) is logged and tried again."""
    await run_every(interval, lambda: anchor_tip(mongo, keys), "audit anchoring failed; retrying")
