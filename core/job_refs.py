"""Every job the gateway runs, declared once (ARCHITECTURE §7): name, arguments, timeout, retries,
and the schedule of cron jobs. Each is implemented by the module of the same name under jobs/;
the registry refuses to start when a reference has no implementation or a module matches none.
"""

from __future__ import annotations

import msgspec

from core.jobs_client import JobRef, NoArgs
from core.payments.model import Kind
from core.storage.redis import WEBHOOK_QUEUE_NAME

EVERY_MINUTE = "* * * * *"


class PayinArgs(msgspec.Struct, frozen=True):
    payin_id: str


class PollArgs(msgspec.Struct, frozen=True):
    """A status query of one transaction; `attempt` counts from 1 (bounded per kind)."""

    id: str
    attempt: int = 1


class SubmitArgs(msgspec.Struct, frozen=True):
    """A (re)submission to the provider with the transaction id as its idempotency key."""

    id: str


class CallbackArgs(msgspec.Struct, frozen=True):
    callback_id: str


class EffectsArgs(msgspec.Struct, frozen=True):
    kind: Kind
    id: str


class DeliveryArgs(msgspec.Struct, frozen=True):
    delivery_id: str
    attempt: int
    manual: bool = False


class SettleArgs(msgspec.Struct, frozen=True):
    ple_id: str
    date: str  # YYYY-MM-DD


class ReconcileArgs(msgspec.Struct, frozen=True):
    date: str | None = None  # the previous UTC day when not given
    ple_id: str | None = None  # only this PLE's three-way reconciliation; every active PLE's when not given


# Transactions
EXPIRE_PAYIN = JobRef("expire_payin", PayinArgs)
POLL_PAYIN = JobRef("poll_payin", PollArgs)
POLL_PAYOUT = JobRef("poll_payout", PollArgs)
SUBMIT_PAYOUT = JobRef("submit_payout", SubmitArgs, retries=3)
POLL_REFUND = JobRef("poll_refund", PollArgs)
SUBMIT_REFUND = JobRef("submit_refund", SubmitArgs, retries=3)
PROCESS_PROVIDER_CALLBACK = JobRef("process_provider_callback", CallbackArgs)
APPLY_EFFECTS = JobRef("apply_effects", EffectsArgs)
# A killed sweep blocks the next tick until saq sweeps it: keep its timeout short.
SWEEP_TRANSACTIONS = JobRef("sweep_transactions", NoArgs, cron=EVERY_MINUTE)
# Webhooks
# Its own queue and worker: a delivery never waits behind a backlog of callbacks (issue 19).
DELIVER_WEBHOOK = JobRef("deliver_webhook", DeliveryArgs, queue=WEBHOOK_QUEUE_NAME)
SWEEP_WEBHOOK_DELIVERIES = JobRef("sweep_webhook_deliveries", NoArgs, cron=EVERY_MINUTE)
# Money at rest
SETTLE_PROVIDER_FEES = JobRef("settle_provider_fees", SettleArgs, timeout=120)
ENQUEUE_DAILY_SETTLEMENTS = JobRef("enqueue_daily_settlements", NoArgs, timeout=120, cron="15 0 * * *")
RECONCILE = JobRef("reconcile", ReconcileArgs, timeout=600, cron="30 0 * * *")
# Operations
RECORD_CRON_TICK = JobRef("record_cron_tick", NoArgs, cron=EVERY_MINUTE)
MEASURE_QUEUE = JobRef("measure_queue", NoArgs, cron=EVERY_MINUTE)

ALL: tuple[JobRef[msgspec.Struct], ...] = (
    EXPIRE_PAYIN,
    POLL_PAYIN,
    POLL_PAYOUT,
    SUBMIT_PAYOUT,
    POLL_REFUND,
    SUBMIT_REFUND,
    PROCESS_PROVIDER_CALLBACK,
    APPLY_EFFECTS,
    SWEEP_TRANSACTIONS,
    DELIVER_WEBHOOK,
    SWEEP_WEBHOOK_DELIVERIES,
    SETTLE_PROVIDER_FEES,
    ENQUEUE_DAILY_SETTLEMENTS,
    RECONCILE,
    RECORD_CRON_TICK,
    MEASURE_QUEUE,
)
