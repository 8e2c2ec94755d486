"""Finish a state change's effects: ledger entries a crash skipped, events and their webhooks,
audit entries, due polls (the outbox of core/payments/machine.py). Enqueued by every state change
made in a request; the sweep re-runs it for anything left pending. Idempotent."""

from __future__ import annotations

from typing import Any

from core.job_refs import APPLY_EFFECTS, EffectsArgs
from core.payments.kinds import MACHINES
from core.payments.machine import drain

JOB = APPLY_EFFECTS


async def apply_effects(ctx: dict[str, Any], args: EffectsArgs) -> str:
    drained = await drain(ctx["resources"], MACHINES[args.kind], args.id)
    return "missing" if drained is None else str(drained.status)
