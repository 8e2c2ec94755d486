"""Statistics of one load phase: latency percentiles, throughput, and CPU accounting.

CPU is read without psutil: the load generator's own time from `resource.getrusage`, a server
process tree's from /proc/<pid>/stat, memory from /proc/<pid>/status (VmRSS).
"""

from __future__ import annotations

import math
import os
import resource
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; NaN when empty."""
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class PhaseResult:
    """What one phase measured; latencies in seconds, in completion order."""

    elapsed: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    gen_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    offered_rate: float | None = None
    # CPU seconds per watched process group (role, sandbox, mongo, postgres, redis) in the phase
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    # every core's busy time in the phase: what is neither ours nor the generator's is foreign load
    machine_cpu_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        done = len(ordered)
        ours = self.gen_cpu_seconds + sum(self.cpu_by_process.values())
        elapsed = self.elapsed if self.elapsed > 0 else math.nan
        return {
            "requests": done + sum(self.errors.values()),
            "ok": done,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(5)),
            "throughput": round(done / elapsed, 1),
            "p50_ms": round(percentile(ordered, 50) * 1000, 2),
            "p95_ms": round(percentile(ordered, 95) * 1000, 2),
            "p99_ms": round(percentile(ordered, 99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else math.nan,
            "seconds": round(self.elapsed, 2),
            "offered_rate": self.offered_rate,
            # share of one core: 1.0 means the generator had a whole core to itself and used it
            "gen_cpu_share": round(self.gen_cpu_seconds / elapsed, 3),
            "server_cpu_share": round(self.server_cpu_seconds / elapsed, 3),
            "cpu_share_by_process": {k: round(v / elapsed, 3) for k, v in self.cpu_by_process.items()},
            "machine_busy_cores": round(self.machine_cpu_seconds / elapsed, 2),
            "foreign_cpu_cores": round(max(0.0, self.machine_cpu_seconds - ours) / elapsed, 2)
            if self.machine_cpu_seconds
            else 0.0,
        }


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (Granian runs its workers as child processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if parse_stat(stat)["ppid"] == pid:
            found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children_of(current))
    return tree


def parse_stat(text: str) -> dict[str, int]:
    """The fields of /proc/<pid>/stat we use; the command name may hold spaces and parens."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15
    return {"ppid": int(rest[1]), "utime": int(rest[11]), "stime": int(rest[12])}


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = parse_stat(Path(f"/proc/{pid}/stat").read_text())
        except OSError:
            continue
        total += fields["utime"] + fields["stime"]
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def pids_named(name: str) -> list[int]:
    """Every process whose command name is `name` (e.g. the PostgreSQL backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _pid_cpu_seconds(pid: int) -> float | None:
    try:
        fields = parse_stat(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return None
    return (fields["utime"] + fields["stime"]) / CLOCK_TICKS


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds of each live process of each group, by pid."""
    snapshot: dict[str, dict[int, float]] = {}
    for name, pids in groups.items():
        per_pid = {pid: _pid_cpu_seconds(pid) for pid in pids}
        snapshot[name] = {pid: cpu for pid, cpu in per_pid.items() if cpu is not None}
    return snapshot


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each group used between two snapshots, over the processes alive at both
    (a process that exits in between, e.g. a PostgreSQL backend, would otherwise count negative)."""
    return {
        name: sum(after[name][pid] - cpu for pid, cpu in pids.items() if pid in after.get(name, {}))
        for name, pids in before.items()
    }


def rss_mb(pid: int) -> float:
    """VmRSS of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
