"""Metrics stay right at any scale: several workers, dead workers, restarts.

Real `gateway serve` processes. With `--workers 2` each scrape must return the whole role's
counts (before, with the OpenTelemetry exporter, 8 scrapes read 11, 11, 11, 9, 9, 11, 9, 11:
each saw one process). A killed worker's counts must stay in the totals (a counter that goes
back looks like a reset to rate()) and its files must be folded away. The reconciliation and
settlement figures come from the store, so a restarted worker reports them at once.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.mmap_dict import MmapedDict

from core.settlement import settled_count

HEALTH = re.compile(r'^gateway_http_requests_total\{[^}]*function="health\.live"[^}]*\} (\S+)$', re.M)


def _health_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=5).text
    return sum(float(v) for v in HEALTH.findall(text))


def _hit(url: str, times: int) -> None:
    for _ in range(times):  # a new connection each: the kernel spreads them over the workers
        assert httpx.get(f"{url}/health/live", headers={"Connection": "close"}, timeout=5).status_code == 200


def _health_count_by_pid(metrics_dir: Path) -> dict[int, float]:
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        total = sum(
            value
            for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(path))
            if '"function": "health.live"' in key
        )
        counts[int(pid) if pid.isdigit() else -1] = total
    return counts


def _wait(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met")


def test_one_scrape_counts_every_worker_and_a_dead_workers_counts_stay(start_role, tmp_path):
    metrics_dir = tmp_path / "metrics"
    api = start_role("api", env={"WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, wait=False)
    api.wait_live(seconds=60)
    before = _health_total(api.url)
    _hit(api.url, 120)
    scrapes = [_health_total(api.url) for _ in range(8)]
    assert scrapes == [before + 120] * 8, scrapes
    by_pid = {pid: n for pid, n in _health_count_by_pid(metrics_dir).items() if n}
    assert len(by_pid) == 2, f"both workers served requests: {by_pid}"

    # Kill one worker outright: Granian respawns it; its counts must not vanish from the total.
    victim = min(by_pid)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: len(_children(api.proc.pid)) == 2 and victim not in _children(api.proc.pid))
    _wait(lambda: _health_total(api.url) > 0)  # the replacement answers too
    totals = [_health_total(api.url) for _ in range(4)]
    assert totals == [before + 120] * 4, totals
    assert not list(metrics_dir.glob(f"*_{victim}.db")), "the dead worker's files are folded away"
    assert (metrics_dir / "counter_archive.db").exists()
    _hit(api.url, 30)
    assert _health_total(api.url) == before + 150


def _children(pid: int) -> set[int]:
    """Live child processes of `pid` (the Granian workers of a role)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


async def test_stored_figures_survive_a_worker_restart(start_role, resources):
    reports = resources.mongo.db["reconciliation_reports"]
    report_id = "recon_2999-12-31"
    mismatch = {"transaction_id": "pi_x", "problem": "missing_entry", "expected": None, "found": None}
    await reports.insert_one(
        {"_id": report_id, "date": "2999-12-31", "checked": 3, "in_progress": 0, "mismatches": [mismatch] * 2}
    )
    try:
        settled = await settled_count(resources)
        for _ in range(2):  # first start, then a restart: the same figures, read from the store
            worker = start_role("worker", wait=False)
            worker.wait_live(seconds=60)

            def figures(url: str = worker.url) -> dict[str, float] | None:
                text = httpx.get(f"{url}/metrics", timeout=5).text
                found = dict(
                    re.findall(r"^(gateway_reconciliation_mismatches|gateway_settlements_total)\S* (\S+)$", text, re.M)
                )
                return {k: float(v) for k, v in found.items()} if len(found) == 2 else None

            assert _wait(figures) == {"gateway_reconciliation_mismatches": 2.0, "gateway_settlements_total": settled}
            worker.stop()
    finally:
        await reports.delete_one({"_id": report_id})
