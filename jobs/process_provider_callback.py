"""On each stored provider callback: apply it through its transaction's state machine."""

from __future__ import annotations

from typing import Any

from core.job_refs import PROCESS_PROVIDER_CALLBACK, CallbackArgs
from core.payments.callbacks import process_callback

JOB = PROCESS_PROVIDER_CALLBACK


async def process_provider_callback(ctx: dict[str, Any], args: CallbackArgs) -> str:
    return await process_callback(ctx["resources"], args.callback_id)
