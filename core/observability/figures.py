"""Figures exported from what is stored, not from a process's memory, so a restart changes nothing:
the mismatches of the latest reconciliation report (MongoDB), the breaks of the newest three-way
reconciliation day and the number of provider fee settlements (PostgreSQL). The worker role
computes them at start-up and refreshes them every FIGURES_REFRESH_SECONDS; a reconcile run sets
its result at once (metrics.RECONCILIATION_MISMATCHES, statement_reconciliation.refresh_break_figures).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import structlog
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.background import run_every, stop_tasks

if TYPE_CHECKING:  # resources import the providers, which import the metrics, which import this
    from core.resources import Resources

log = structlog.get_logger("metrics")
FIGURES_REFRESH_SECONDS = 30.0


class StoredFigures:
    """The last figures read from the store, by name; absent until first read."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def set(self, name: str, value: int) -> None:
        self._values[name] = value

    def get(self, name: str) -> int | None:
        return self._values.get(name)

    def clear(self) -> None:
        self._values.clear()


FIGURES = StoredFigures()


class FiguresCollector(Collector):
    """Exports the stored figures on /metrics of the worker role (empty elsewhere)."""

    def collect(self) -> Iterator[Metric]:
        mismatches = FIGURES.get("reconciliation_mismatches")
        if mismatches is not None:
            yield GaugeMetricFamily(
                "gateway_reconciliation_mismatches", "mismatches in the latest reconciliation", value=mismatches
            )
        breaks, critical = FIGURES.get("reconciliation_breaks"), FIGURES.get("reconciliation_breaks_critical")
        if breaks is not None and critical is not None:
            family = GaugeMetricFamily(
                "gateway_reconciliation_breaks",
                "breaks of the newest three-way reconciliation day, every PLE",
                labels=["severity"],
            )
            family.add_metric(["critical"], critical)
            family.add_metric(["error"], breaks)
            yield family
        settled = FIGURES.get("settlements")
        if settled is not None:
            family = CounterMetricFamily("gateway_settlements", "provider fee settlements", labels=["outcome"])
            family.add_metric(["settled"], settled)
            yield family


async def refresh(res: Resources) -> None:
    """Read every figure from the store now."""
    from core.reconciliation import latest_mismatch_count
    from core.settlement import settled_count
    from core.statement_reconciliation import refresh_break_figures

    FIGURES.set("reconciliation_mismatches", await latest_mismatch_count(res))
    await refresh_break_figures(res.db)
    FIGURES.set("settlements", await settled_count(res))


async def _keep_fresh(res: Resources, interval: float) -> None:
    # a database blip keeps the last figures until the next round
    await run_every(interval, lambda: refresh(res), "stored figures not refreshed")


@contextlib.asynccontextmanager
async def kept_fresh(res: Resources, interval: float = FIGURES_REFRESH_SECONDS) -> AsyncIterator[None]:
    """While the worker role runs: figures read at start-up, then every `interval` seconds."""
    task = asyncio.create_task(_keep_fresh(res, interval), name="stored-figures")
    try:
        yield
    finally:
        await stop_tasks(task)
