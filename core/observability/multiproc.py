"""prometheus-client's multiprocess mode for `gateway serve --workers N`, with dead workers' files
folded away.

Each Granian worker process writes its samples to `<kind>_<pid>.db` files in
PROMETHEUS_MULTIPROC_DIR; a scrape sums them. Granian has no per-worker exit hook, so whoever
scrapes first after a worker died (one was killed, or crashed and was respawned) folds that pid's
files into `<kind>_archive.db` under an exclusive lock: its counts stay in the role's totals
(counters never go backwards, so rate() sees no reset) and the directory does not grow with every
respawn. Collection takes the same lock, so no scrape reads a pid both in its file and in the
archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator

from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LOCK = ".lock"
_PID_FILE = re.compile(r"^(?P<kind>counter|histogram|summary|gauge_(?P<mode>[a-z]+))_(?P<pid>\d+)\.db$")


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def prepare(path: str) -> None:
    """An empty directory for a role starting up (files of an earlier run would be summed)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def remove(path: str) -> None:
    """The directory of a role that stopped (only one `gateway serve` made for itself)."""
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fold(source: str, archive: str, mode: str | None) -> None:
    """Add a dead pid's samples to the archive: counts summed; gauges keep the newest value."""
    target = MmapedDict(archive)
    try:
        for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(source):
            old_value, old_timestamp = target.read_value(key)
            if mode is None:
                target.write_value(key, old_value + value, max(old_timestamp, timestamp))
            elif timestamp >= old_timestamp:
                target.write_value(key, value, timestamp)
    finally:
        target.close()


def fold_dead_workers(path: str) -> list[int]:
    """Fold every dead pid's files into the archives (caller holds the lock); the pids folded."""
    folded = set()
    for name in sorted(os.listdir(path)):
        match = _PID_FILE.match(name)
        if not match or _alive(int(match["pid"])):
            continue
        source, mode = os.path.join(path, name), match["mode"]
        if mode is None or not mode.startswith("live"):  # live* gauges die with their process
            archive_mode = mode if mode in ("mostrecent", "max", "min") else None
            if mode is not None and archive_mode is None:
                continue  # "all"/"sum" gauges are not used here; leave them as they are
            _fold(source, os.path.join(path, f"{match['kind']}_archive.db"), archive_mode)
        os.remove(source)
        folded.add(int(match["pid"]))
    return sorted(folded)


@contextlib.contextmanager
def collecting(path: str) -> Iterator[MultiProcessCollector]:
    """A collector over every process's files, dead workers folded first, under the lock."""
    with open(os.path.join(path, _LOCK), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fold_dead_workers(path)
            yield MultiProcessCollector(None, path=path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
