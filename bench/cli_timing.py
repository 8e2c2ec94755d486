"""How long the `gateway` CLI takes to start (issue 19: `--help` ≤ 0.3 s, `invoke health.ready` ≤ 1.5 s).

Both run the virtualenv's console script (`.venv/bin/gateway`, what `uv run gateway` ends up
executing) directly: `uv run` adds its own start-up (a lock check, ~50-100 ms) that is no part of
the gateway's. Each run is a fresh process, so every figure includes the interpreter start and
every import; "cold" here means no process of ours is running, not an empty page cache.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELP_RUNS = 5
INVOKE_RUNS = 3


def gateway_executable() -> str:
    """The console script of the environment running this module (the project's .venv)."""
    beside = Path(sys.executable).with_name("gateway")
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "gateway")


def _seconds(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.decode()[-1000:]}")
    return elapsed


def measure_cli(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Median wall time of `gateway --help` (5 runs) and `gateway invoke health.ready` (3 runs).

    `env` is added to this process's environment for both commands: `invoke health.ready` builds
    the api role in-process and checks PostgreSQL, MongoDB and Redis, so it needs the stack's
    DATABASE_URL, MONGO_URL and REDIS_URL (the bench's `stack.env`). The invoke must answer 200,
    or this raises: a timing of a failed start-up would be meaningless.
    """
    exe = gateway_executable()
    full_env = {**os.environ, **(env or {})}
    helps = [_seconds([exe, "--help"], full_env) for _ in range(HELP_RUNS)]
    invokes = []
    for _ in range(INVOKE_RUNS):
        started = time.perf_counter()
        result = subprocess.run(
            [exe, "invoke", "health.ready"], env=full_env, capture_output=True, timeout=120, check=False
        )
        invokes.append(time.perf_counter() - started)
        if result.returncode != 0 or b'"status":200' not in result.stdout:
            tail = f"{result.stdout[-500:]!r} {result.stderr[-1000:]!r}"
            raise RuntimeError(f"gateway invoke health.ready failed: {tail}")
    return {
        "help_seconds": round(statistics.median(helps), 3),
        "invoke_ready_seconds": round(statistics.median(invokes), 3),
        "runs": {"help": [round(x, 3) for x in helps], "invoke_ready": [round(x, 3) for x in invokes]},
        "command": f"{exe} --help; {exe} invoke health.ready",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure_cli(), indent=2))
