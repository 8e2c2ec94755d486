"""`gateway serve` as real processes (issue 19): one role is one process by default; with
`--workers N` the supervisor stays small and a worker's refusal to start still reaches the
operator as one line naming the cause, exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from core.local_services import free_port
from core.routing import route_everything_to
from tests.fixtures.merchants import SignedClient, new_merchant
from tests.fixtures.stack import MERCHANT_FEES


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def _modules_of(pid: int) -> str:
    """Which of our heavy dependencies a process has mapped (their compiled extensions show in maps)."""
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_role_is_one_process_that_stops_on_sigterm(start_role) -> None:
    role = start_role("payment")
    assert httpx.get(role.url + "/health/live").json() == {"status": "ok"}
    assert _children(role.proc.pid) == []  # no Granian supervisor holding a second copy of the app
    started = [line for line in role.output().splitlines() if '"role started"' in line]
    assert started and '"loop":"uvloop.Loop"' in started[0], started  # as Granian's workers pick it
    role.proc.send_signal(signal.SIGTERM)
    assert role.proc.wait(timeout=30) == 0


def test_with_workers_the_supervisor_holds_no_app(start_role) -> None:
    role = start_role("api", env={"WORKERS": "2"})
    assert httpx.get(role.url + "/health/live").status_code == 200
    workers = _children(role.proc.pid)
    assert len(workers) == 2
    # msgspec's and pymongo's compiled modules are loaded by the app only
    assert "msgspec" not in _modules_of(role.proc.pid) and "pymongo" not in _modules_of(role.proc.pid)
    assert all("msgspec" in _modules_of(pid) and "uvloop" in _modules_of(pid) for pid in workers)


def test_with_workers_a_config_error_still_names_the_variable_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "serve", "--role", "payment", "--port", str(free_port()), "--workers", "2"],
        env={**os.environ, "SIGNATURE_TOLERANCE_SECONDS": "soon"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("configuration error: SIGNATURE_TOLERANCE_SECONDS")
    assert result.stderr.count("SIGNATURE_TOLERANCE_SECONDS") == 1  # printed once, not once per worker


async def test_a_role_that_called_its_provider_stops_without_a_traceback(start_role, stack, resources) -> None:
    """The provider HTTP sessions are closed with the role: left open, aiohttp complained at exit
    in dozens of non-JSON lines ("Unclosed client session", "--- Logging error ---")."""
    role = start_role("payment")
    created = await new_merchant(resources, "Stopping merchant", fee_plans=MERCHANT_FEES)
    await route_everything_to(resources, created["merchant"]["id"], stack.ple_id, actor="test")
    async with httpx.AsyncClient(base_url=role.url, timeout=30) as http:
        merchant = SignedClient(http, created["merchant"]["id"], created["key_id"], created["secret"])
        body = {
            "amount": 10_000,
            "currency": "INR",
            "reference": "stop-clean",
            "method": "upi",
            "customer": {"name": "Asha Rao", "email": "asha@example.com"},
        }
        assert (await merchant.post("/v1/payins", body)).status_code == 201  # the sandbox was called
    role.proc.send_signal(signal.SIGTERM)
    assert role.proc.wait(timeout=30) == 0
    output = role.output()
    assert "Unclosed" not in output and "Logging error" not in output, output[-3000:]
