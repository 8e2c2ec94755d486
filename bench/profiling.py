"""Sampling profiles of a serving role while a scenario runs: py-spy (PyPI, run through `uvx`,
so it is no project dependency) records collapsed stacks of the role's process tree, and
`summarize` turns them into the top self and inclusive costs for docs/performance.md."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy over `pid` and its children for `seconds`; None when uvx is missing."""
    uvx = shutil.which("uvx")
    if uvx is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            *(uvx, "py-spy", "record", "--subprocesses", "--nonblocking", "-r", "250", "-f", "raw"),
            *("-d", str(max(1, round(seconds))), "-o", str(out), "-p", str(pid)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/module.py:123)"; keep function + file
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({short})"


def summarize(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Top self and inclusive frames (share of all samples) of py-spy's collapsed output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    share = (lambda c: round(c / total, 3)) if total else (lambda c: 0.0)
    return {
        "samples": total,
        "self": [(name, share(c)) for name, c in own.most_common(top)],
        "inclusive": [(name, share(c)) for name, c in inclusive.most_common(top * 2)],
    }
