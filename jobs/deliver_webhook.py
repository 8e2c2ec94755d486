"""Send one attempt of a webhook delivery (§4.7); schedules the next attempt itself on failure.

Enqueued by core.events.ensure_delivery (attempt 0), by the previous failed attempt (on the
retry schedule), by a manual retry and by the sweep. A merchant-side failure is recorded on the
delivery, never raised: the job itself succeeds. See core/webhooks/delivery.py.
"""

from __future__ import annotations

from typing import Any

from core.job_refs import DELIVER_WEBHOOK, DeliveryArgs
from core.webhooks.delivery import deliver

JOB = DELIVER_WEBHOOK


async def deliver_webhook(ctx: dict[str, Any], args: DeliveryArgs) -> str:
    return await deliver(ctx["resources"], args.delivery_id, args.attempt, manual=args.manual)
