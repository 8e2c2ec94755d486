"""Background loops stop with their role even when a driver swallows the cancellation
(core/background.py): an in-process app's test hung forever on a stopped audit-anchor loop."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from core.background import run_every, stop_tasks


async def _swallowing_round(rounds: list[int]) -> None:
    """What asyncpg's `wait_for` on Python 3.11 and redis-py may do: the cancellation lands and
    the call returns normally anyway (only in the first round, so a broken loop can be stopped)."""
    rounds.append(1)
    try:
        await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        if len(rounds) > 1:
            raise


async def test_a_loop_whose_round_swallows_the_cancellation_still_stops() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(run_every(0.0, lambda: _swallowing_round(rounds), "round failed"))
    await asyncio.sleep(0.02)  # inside the first round's sleep
    try:
        await asyncio.wait_for(stop_tasks(task, grace=2.0), timeout=5.0)
        assert task.cancelled()
        assert len(rounds) == 1  # no round ran after the cancellation
    finally:
        task.cancel()  # a broken loop: the second round lets this one through


async def test_a_failing_round_is_logged_and_the_loop_goes_on() -> None:
    calls: list[int] = []
    third_round = asyncio.Event()

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 3:
            third_round.set()
        if len(calls) == 1:
            raise ConnectionError("database down")

    with capture_logs() as logs:
        task = asyncio.create_task(run_every(0.0, flaky, "figures not refreshed"))
        await asyncio.wait_for(third_round.wait(), timeout=5)
        await stop_tasks(task)
    assert task.cancelled()
    assert [e["error"] for e in logs if e["event"] == "figures not refreshed"] == ["ConnectionError"]


async def test_a_task_that_never_stops_costs_the_grace_not_the_stop() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue  # a loop without the check, swallowing every cancellation

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with capture_logs() as logs:
        await asyncio.wait_for(stop_tasks(task, grace=0.2), timeout=5.0)
    assert not task.done()
    assert any(e["event"] == "background task did not stop; left behind" and e["task"] == "stubborn" for e in logs)
    release.set()
    await task
