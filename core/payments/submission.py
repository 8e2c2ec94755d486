"""Submitting money out (payouts and refunds) and learning what became of it, the same way.

A payout or a refund is created `pending` with its funds already held, then submitted to the
provider with its own id as the provider-side idempotency key, so every resubmission (after a
timeout, a crash, a 5xx) can only ever make one provider-side transaction. The provider's answer
moves it on; an ambiguous answer leaves it pending and resubmits on a back-off; `processing`
starts bounded status polling, and when polling runs out it stays processing with
`needs_review` (never failed by guesswork; ARCHITECTURE §4.6, §4.9).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec
import structlog

from core.job_refs import PollArgs, SubmitArgs
from core.jobs_client import JobRef, enqueue
from core.payments import machine as engine
from core.payments.machine import Advanced, Machine
from core.payments.model import FINAL, Answer, FailureCode, Outcome, ProviderReport, Transaction
from core.providers.base import PleConfig, ProviderNotFound, ProviderRejected, ProviderUnavailable
from core.resources import Resources
from core.timeutil import utcnow

T = TypeVar("T", bound=Transaction)
log = structlog.get_logger("payments")
SUBMIT_RETRY_DELAYS = (2, 10, 30, 60, 120)  # seconds between resubmissions of an unanswered submission


@dataclass(frozen=True)
class Submitter(Generic[T]):
    machine: Machine[T]
    submit_job: JobRef[SubmitArgs]
    send: Callable[[Resources, PleConfig, T], Awaitable[Answer]]  # the adapter's create call
    query: Callable[[Resources, PleConfig, str], Awaitable[Answer]]  # the adapter's status call
    pending: str = "pending"
    processing: str = "processing"
    failed: str = "failed"


async def submit(res: Resources, s: Submitter[T], obj: T, ple: PleConfig, *, source: str) -> T:
    """Send `obj` (already counted as a submission) and apply the answer."""
    try:
        answer = await s.send(res, ple, obj)
    except ProviderUnavailable as exc:  # ambiguous: stays pending, resubmitted with the same id
        attempt = obj.submissions
        if attempt <= len(SUBMIT_RETRY_DELAYS):
            when = utcnow().timestamp() + SUBMIT_RETRY_DELAYS[attempt - 1]
            await enqueue(
                res.queue, s.submit_job, SubmitArgs(id=obj.id), key=f"submit:{obj.id}:{attempt}", scheduled=when
            )
        log.warning("submission unanswered", kind=s.machine.kind, attempt=attempt, error=exc.kind)
        return obj
    except ProviderRejected as exc:
        log.info("rejected by provider", kind=s.machine.kind, code=exc.code)
        rejected = engine.setting(failure_code=FailureCode.PROVIDER_REJECTED)
        moved = await engine.advance(
            res, s.machine, obj, s.failed, source=source, amend=rejected, drain_now=source != "api"
        )
        return moved.obj or obj
    moved = await engine.apply_report(
        res, s.machine, ProviderReport.of(answer, ple.ple_id, source), obj, drain_now=source != "api"
    )
    return moved.obj or obj


async def resubmit(res: Resources, s: Submitter[T], obj_id: str, *, source: str) -> T | None:
    """Submit again a transaction still pending (same id: the provider deduplicates)."""

    def count(o: T) -> T | None:
        if o.status != s.pending:
            return None
        return msgspec.structs.replace(
            o, submissions=o.submissions + 1, last_submitted_at=utcnow(), updated_at=utcnow()
        )

    store = s.machine.store(res)
    counted = await store.update(obj_id, count)
    if counted is None:
        return await store.get(obj_id)
    return await submit(res, s, counted, await res.ples.get(counted.ple_id), source=source)


async def poll(res: Resources, s: Submitter[T], args: PollArgs) -> str:
    """One bounded status query; the next is scheduled, or the transaction flagged for review."""
    obj = await s.machine.store(res).get(args.id)
    if obj is None or obj.status in FINAL[s.machine.kind]:
        return "final"  # polling stops at a final status
    if obj.status == s.pending:
        await resubmit(res, s, obj.id, source="poll")
        return "resubmitted"
    result: Advanced[T] = Advanced(Outcome.DUPLICATE, obj)
    try:
        answer = await s.query(res, await res.ples.get(obj.ple_id), obj.id)
        result = await engine.apply_report(
            res, s.machine, ProviderReport.of(answer, obj.ple_id, "poll"), obj, drain_now=True
        )
    except (ProviderUnavailable, ProviderNotFound) as exc:
        log.warning("status query unanswered", kind=s.machine.kind, attempt=args.attempt, error=str(exc))
    current = result.obj or obj
    if current.status != s.processing:
        return str(result.outcome)
    if args.attempt < res.settings.payout_poll_max_attempts:
        await engine.poll_later(res, s.machine, current, args.attempt + 1)
        return "polling"
    await engine.polls_exhausted(res, s.machine, current, args.attempt, source="poll")
    return "needs_review"
