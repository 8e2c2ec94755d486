"""One state-machine engine for every kind of transaction (docs/architecture.md).

A kind declares its `Machine`: which status may be reached from which, and what reaching each
status does (ledger transfers, the merchant event, the audit entry, status polling). The engine
runs any machine the same way:

1. `advance` changes the status with one compare-and-set that writes the status, the history
   step, `next_poll`, `effects_pending` and the outbox items (event and audit) together, so a
   crash can lose none of them;
2. the new state's ledger entries are posted at once (the answer shows the money moved);
3. the outbox is drained (`drain`: in the worker inline, from a request by the `apply_effects`
   job): events and their webhook deliveries created, audit entries appended, due polls enqueued,
   and any ledger entry a crash skipped posted; then the items are cleared.

Each step is idempotent (ledger keys, one event per object and type), so the sweep can re-run
`drain` on anything left `effects_pending` after a crash.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec
import orjson
import structlog

from core import audit, ledger
from core.events import record_event
from core.ids import new_id
from core.job_refs import APPLY_EFFECTS, EffectsArgs, PollArgs
from core.jobs_client import JobRef, enqueue
from core.observability.metrics import AMOUNT_MISMATCHES
from core.payments.model import FailureCode, Kind, NextPoll, OutboxItem, Outcome, ProviderReport, Step, Transaction
from core.payments.store import TransactionStore
from core.resources import Resources
from core.timeutil import utcnow

T = TypeVar("T", bound=Transaction)
log = structlog.get_logger("payments")
REVIEW_MISMATCH = "amount_mismatch"  # a provider report disagreed with the transaction
REVIEW_POLLS_EXHAUSTED = "needs_review"  # status polling ran out without a final status


def no_entries(_: Any) -> Sequence[ledger.EntrySpec]:
    return ()


def setting(**fields: object) -> Callable[[T], T]:
    """An amendment that sets `fields` (e.g. `setting(failure_code=...)`)."""
    return lambda obj: msgspec.structs.replace(obj, **fields)


@dataclass(frozen=True, slots=True)
class StateEffects(Generic[T]):
    """What reaching one status does, beyond the status itself."""

    ledger: Callable[[T], Sequence[ledger.EntrySpec]] = no_entries
    amend: Callable[[T], T] | None = None  # fields set in the same write (failure_code, late, ...)
    event: bool = True  # the merchant event "<kind>.<status>" (and its webhook)
    audit_action: Callable[[T], str] | None = None  # default "<kind>.<status>"
    polls: bool = False  # the provider is asked for the outcome until a final status


@dataclass(frozen=True)
class Machine(Generic[T]):
    kind: Kind
    moves: Mapping[str, frozenset[str]]  # target status -> the statuses it may be reached from
    effects: Mapping[str, StateEffects[T]]
    view: Callable[[T], msgspec.Struct]  # the object as the API shows it (event data)
    counted: Callable[[T], None] = lambda _: None  # metrics of a status reached
    poll_job: JobRef[PollArgs] | None = None
    # The statuses a provider's report walks through from the current one (a payout reported
    # reversed before we saw it succeed passes through succeeded); default: just the report.
    path: Callable[[str, str], tuple[str, ...]] = field(default=lambda _current, reported: (reported,))
    # Idempotent work of every drain beyond the outbox (a refund recounts its payin's refunds).
    on_drain: Callable[[Resources, T], Awaitable[None]] | None = None

    def store(self, res: Resources) -> TransactionStore[T]:
        return TransactionStore(res.mongo, self.kind)


@dataclass(frozen=True, slots=True)
class Advanced(Generic[T]):
    outcome: Outcome
    obj: T | None


def _json(value: Any) -> str:
    return orjson.dumps(value if not isinstance(value, msgspec.Struct) else msgspec.to_builtins(value)).decode()


def _outbox_item(machine: Machine[T], obj: T, source: str, *, action: str, event: str | None) -> OutboxItem:
    bound = structlog.contextvars.get_contextvars()
    return OutboxItem(
        id=new_id("obx"),
        event=event,
        data=_json(machine.view(obj)) if event else None,
        audit=action,
        audit_details=_json({"status": str(obj.status)}),
        actor=f"system:{source}",
        request_id=bound.get("request_id"),
        trace_id=bound.get("trace_id"),
    )


def _poll_due(res: Resources, attempt: int) -> NextPoll:
    """Polls back off: the initial delay, then doubling (PAYOUT_POLL_* settings, every kind)."""
    delay = res.settings.payout_poll_initial_delay_seconds * (2 ** (attempt - 1))
    return NextPoll(attempt=attempt, at=datetime.fromtimestamp(utcnow().timestamp() + delay, UTC))


async def commit(
    res: Resources,
    machine: Machine[T],
    current: T | str,
    to: str,
    *,
    source: str,
    amend: Callable[[T], T] | None = None,
) -> Advanced[T]:
    """Step 1 alone: the compare-and-set that records the new status with everything it owes
    (history, `next_poll`, `effects_pending`, the outbox item). `advance` is what callers use."""
    allowed = machine.moves[to]
    effects = machine.effects.get(to, StateEffects())
    seen: list[T] = []

    def change(obj: T) -> T | None:
        seen.append(obj)
        if obj.status == to or obj.status not in allowed:
            return None
        now = utcnow()
        changed = effects.amend(obj) if effects.amend is not None else obj
        changed = amend(changed) if amend is not None else changed
        changed = msgspec.structs.replace(
            changed,
            status=to,
            updated_at=now,
            history=[*obj.history, Step(status=to, at=now, source=source)],
            effects_pending=True,
            next_poll=_poll_due(res, 1) if effects.polls else None,
            # A new status answers "what happened?", not "was that report genuine?": only a
            # mismatch's review flag outlives it.
            needs_review=obj.needs_review and obj.review_reason == REVIEW_MISMATCH,
            review_reason=obj.review_reason if obj.review_reason == REVIEW_MISMATCH else None,
        )
        action = effects.audit_action(changed) if effects.audit_action else f"{machine.kind}.{to}"
        event = f"{machine.kind}.{to}" if effects.event else None
        item = _outbox_item(machine, changed, source, action=action, event=event)
        return msgspec.structs.replace(changed, outbox=[*obj.outbox, item])

    stored = await machine.store(res).update(current, change)
    if stored is not None:
        machine.counted(stored)
        return Advanced(Outcome.APPLIED, stored)
    last = seen[-1] if seen else None
    if last is None:
        return Advanced(Outcome.UNKNOWN, None)
    return Advanced(Outcome.DUPLICATE if last.status == to else Outcome.STALE, last)


async def advance(
    res: Resources,
    machine: Machine[T],
    current: T | str,
    to: str,
    *,
    source: str,
    amend: Callable[[T], T] | None = None,
    drain_now: bool = False,
) -> Advanced[T]:
    """Move the transaction to `to` if the machine allows it from where it is.

    `amend` changes other fields in the same write. The ledger entries of `to` are posted before
    returning; the outbox is drained now (`drain_now`, in the worker) or by the `apply_effects`
    job (from a request, so the answer does not wait for it).
    """
    result = await commit(res, machine, current, to, source=source, amend=amend)
    stored = result.obj
    if result.outcome != Outcome.APPLIED or stored is None:
        return result
    try:
        for spec in machine.effects.get(to, StateEffects()).ledger(stored):
            await ledger.post(res.db, spec)
    except Exception as exc:  # the state is recorded: the drain (or the sweep) posts it later
        log.error("ledger effects deferred", kind=machine.kind, status=to, error=type(exc).__name__)
    if drain_now:
        await drain(res, machine, stored)
    else:
        args = EffectsArgs(kind=machine.kind, id=stored.id)
        await enqueue(res.queue, APPLY_EFFECTS, args, key=f"effects:{stored.id}:{to}")
    return result


async def flag_for_review(
    res: Resources, machine: Machine[T], current: T | str, *, reason: str, source: str
) -> T | None:
    """Set `needs_review` (and `failure_code: amount_mismatch` for a mismatch) without changing
    the status; audited through the outbox. None when already flagged for that reason."""
    mismatch = reason == REVIEW_MISMATCH

    def change(obj: T) -> T | None:
        if obj.needs_review and (obj.review_reason == reason or obj.review_reason == REVIEW_MISMATCH):
            return None
        flagged = msgspec.structs.replace(
            obj,
            needs_review=True,
            review_reason=reason,
            failure_code=FailureCode.AMOUNT_MISMATCH if mismatch else obj.failure_code,
            updated_at=utcnow(),
            effects_pending=True,
        )
        item = _outbox_item(machine, flagged, source, action=f"{machine.kind}.{reason}", event=None)
        return msgspec.structs.replace(flagged, outbox=[*obj.outbox, item])

    flagged = await machine.store(res).update(current, change)
    if flagged is not None:
        await enqueue(
            res.queue, APPLY_EFFECTS, EffectsArgs(kind=machine.kind, id=flagged.id), key=f"effects:{flagged.id}:review"
        )
    return flagged


async def apply_report(
    res: Resources, machine: Machine[T], report: ProviderReport, current: T | str, *, drain_now: bool = False
) -> Advanced[T]:
    """Apply what a provider reported, only if it is about this transaction's money.

    A report from another PLE than the transaction's, or with another amount or currency, is
    never applied: the transaction is flagged for review (amount) and the outcome is MISMATCH.
    """
    obj = current if isinstance(current, Transaction) else await machine.store(res).get(current)
    if obj is None:
        return Advanced(Outcome.UNKNOWN, None)
    if report.ple_id != obj.ple_id:
        log.error("provider report from another PLE refused", kind=machine.kind, reported_by=report.ple_id)
        return Advanced(Outcome.MISMATCH, obj)
    if (report.amount, report.currency) != (obj.amount, obj.currency):
        AMOUNT_MISMATCHES.add(1, {"kind": str(machine.kind), "provider": obj.provider})
        log.error(
            "provider reported another amount",
            kind=machine.kind,
            expected=obj.amount,
            reported=report.amount,
            currency=report.currency,
        )
        flagged = await flag_for_review(res, machine, obj, reason=REVIEW_MISMATCH, source=report.source)
        return Advanced(Outcome.MISMATCH, flagged or obj)

    def with_reference(o: T) -> T:
        if report.provider_reference and not o.provider_reference:
            return msgspec.structs.replace(o, provider_reference=report.provider_reference)
        return o

    outcomes: list[Outcome] = []
    for status in machine.path(str(obj.status), report.status):
        if status not in machine.moves:
            continue  # a report of a starting status (pending): nothing to move
        step = await advance(res, machine, obj, status, source=report.source, amend=with_reference, drain_now=drain_now)
        obj = step.obj or obj
        outcomes.append(step.outcome)
    if Outcome.APPLIED in outcomes:
        return Advanced(Outcome.APPLIED, obj)
    return Advanced(outcomes[-1] if outcomes else Outcome.DUPLICATE, obj)


async def drain(res: Resources, machine: Machine[T], current: T | str) -> T | None:
    """Finish what the transaction's state changes owe: ledger entries a crash skipped, due
    polls, events with their deliveries, audit entries; then clear the drained items."""
    store = machine.store(res)
    obj = current if isinstance(current, Transaction) else await store.get(current)
    if obj is None or (not obj.effects_pending and not obj.outbox):
        return obj
    specs = [spec for step in obj.history for spec in machine.effects.get(step.status, StateEffects()).ledger(obj)]
    missing = await ledger.missing_keys(res.db, [s.key for s in specs])
    for spec in specs:  # in history order: a reversal needs the settlement it reverses
        if spec.key in missing:
            await ledger.post(res.db, spec)
    if obj.next_poll is not None and machine.poll_job is not None:
        due = obj.next_poll
        args = PollArgs(id=obj.id, attempt=due.attempt)
        await enqueue(
            res.queue, machine.poll_job, args, key=f"poll:{obj.id}:{due.attempt}", scheduled=due.at.timestamp()
        )
    for item in obj.outbox:
        await run_outbox_item(res, obj, item)
    if machine.on_drain is not None:
        await machine.on_drain(res, obj)
    done = {item.id for item in obj.outbox}

    def clear(o: T) -> T | None:
        left = [i for i in o.outbox if i.id not in done]
        if not o.effects_pending and len(left) == len(o.outbox):
            return None
        return msgspec.structs.replace(o, outbox=left, effects_pending=bool(left))

    return await store.update(obj, clear) or obj


async def run_outbox_item(res: Resources, obj: Transaction, item: OutboxItem) -> None:
    """One outbox item: idempotent (one event per object and type; the audit entry keyed by the
    item's id), so a drain cut short by a crash can simply run again."""
    with structlog.contextvars.bound_contextvars(request_id=item.request_id, trace_id=item.trace_id):
        if item.event and item.data is not None:
            await record_event(
                res, merchant_id=obj.merchant_id, type=item.event, object_id=obj.id, data=orjson.loads(item.data)
            )
        if item.audit:
            details = orjson.loads(item.audit_details) if item.audit_details else {}
            await audit.record(
                res.mongo, res.db, actor=item.actor, action=item.audit, target=obj.id, details=details, key=item.id
            )


async def poll_later(res: Resources, machine: Machine[T], obj: T, attempt: int) -> T | None:
    """Record and enqueue status query number `attempt` (the sweep re-enqueues it if lost)."""
    assert machine.poll_job is not None, f"{machine.kind} has no poll job"
    due = _poll_due(res, attempt)
    status = obj.status

    def change(o: T) -> T | None:
        return msgspec.structs.replace(o, next_poll=due) if o.status == status else None

    stored = await machine.store(res).update(obj, change)
    if stored is not None:
        args = PollArgs(id=obj.id, attempt=attempt)
        await enqueue(res.queue, machine.poll_job, args, key=f"poll:{obj.id}:{attempt}", scheduled=due.at.timestamp())
    return stored


async def polls_exhausted(res: Resources, machine: Machine[T], obj: T, attempt: int, *, source: str) -> T | None:
    """Polling ran out without a final status: never guess; a person looks at it."""
    log.warning("status polling ran out", kind=machine.kind, attempts=attempt)

    def stop(o: T) -> T | None:
        return msgspec.structs.replace(o, next_poll=None) if o.next_poll is not None else None

    obj = await machine.store(res).update(obj, stop) or obj
    return await flag_for_review(res, machine, obj, reason=REVIEW_POLLS_EXHAUSTED, source=source)
