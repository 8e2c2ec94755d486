"""Background loops of a serving process: audit anchoring, the revocation listener, the worker's
stored figures and queue gauges. Each starts with its role and must never hold up the role's stop.

A driver can swallow the cancellation meant to stop a loop: Python 3.11's `asyncio.wait_for`
(which asyncpg uses for its timeouts) returns the result when the cancellation lands as the
awaited call completes (gh-86296), and redis-py does the same inside its own timeouts
(redis-py#2551). The task then stays `cancelling()` but runs on, and whoever awaits it at
shutdown waits forever: an in-process app's test hung that way on a stopped audit-anchor loop.
So every loop here checks for a pending cancellation after each round, and `stop_tasks` waits a
bounded time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

# A loop stops at its next round boundary; a round is one short query, so this is generous.
STOP_GRACE_SECONDS = 5.0

log = structlog.get_logger("background")


def raise_if_cancelled() -> None:
    """Raise the cancellation a driver swallowed: the current task is `cancelling()` yet running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def run_every(interval: float, work: Callable[[], Awaitable[object]], failure: str) -> None:
    """`work()` every `interval` seconds until cancelled. A failing round (a store down) is logged
    as `failure` and tried again next round: the loop must outlive any one failure."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(failure, error=type(exc).__name__)
        raise_if_cancelled()
        await asyncio.sleep(interval)


async def stop_tasks(*tasks: asyncio.Task[object], grace: float = STOP_GRACE_SECONDS) -> None:
    """Cancel `tasks` and wait up to `grace` seconds for them; one that is still running then is
    logged and left behind, so a stuck loop costs a role a few seconds of its stop, not its stop."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", task=task.get_name(), error=type(task.exception()).__name__)
    for task in pending:
        log.error("background task did not stop; left behind", task=task.get_name(), grace_seconds=grace)
