"""Every process stops within 5 s of SIGTERM (docker stop, Ctrl-C on `just dev`).

Real processes through the CLI, each busy the way that used to keep it alive: the sandbox with an
answer in flight that takes 30 s (`--latency-ms`), which kept `just dev` alive for more than
10 s, and the worker role, whose saq worker waited its whole shutdown grace even when idle. The
HTTP roles get a request whose body never finishes arriving.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from core.local_services import free_port
from tests.fixtures.processes import RoleProcess

STOP_WITHIN_SECONDS = 5


def _stop_and_wait(proc: RoleProcess) -> int | None:
    proc.proc.send_signal(signal.SIGTERM)
    try:
        return proc.proc.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        return None


def test_sandbox_with_a_slow_answer_in_flight_stops_within_5_seconds():
    port = free_port()
    sandbox = RoleProcess(
        ["sandbox", "--port", str(port), "--secret", "stop-test-secret", "--latency-ms", "30000"],
        port,
        {},
        "sandbox-stop",
    )
    try:
        sandbox.wait_live("/__sandbox/health")
        in_flight = threading.Event()

        def slow_call() -> None:
            in_flight.set()
            try:
                httpx.post(f"{sandbox.url}/v1/payins", content=b"{}", timeout=60)
            except httpx.HTTPError:
                pass  # cut off by the stop: expected

        threading.Thread(target=slow_call, daemon=True).start()
        in_flight.wait(5)
        time.sleep(0.5)  # the request has reached the sandbox and sleeps there
        code = _stop_and_wait(sandbox)
        assert code is not None, f"sandbox still running {STOP_WITHIN_SECONDS}s after SIGTERM"
    finally:
        sandbox.stop()


def _hold_a_request(port: int) -> socket.socket:
    """A request whose body never completes: in flight until the body timeout (10 s)."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"POST /v1/balance HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n")
    conn.sendall(b"Content-Length: 100\r\n\r\n{")
    return conn


def test_worker_role_stops_within_5_seconds_of_sigterm(start_role):
    worker = start_role("worker", wait=False)
    worker.wait_live(seconds=60)  # start-up is slow on a loaded machine; the stop is what counts
    conn = _hold_a_request(worker.port)
    try:
        time.sleep(0.5)
        assert _stop_and_wait(worker) is not None, f"worker still running {STOP_WITHIN_SECONDS}s after SIGTERM"
    finally:
        conn.close()


def test_http_roles_stop_within_5_seconds_of_sigterm(start_role):
    roles = {role: start_role(role, wait=False) for role in ("api", "payment", "frontend")}
    conns = []
    try:
        for proc in roles.values():
            proc.wait_live(seconds=60)
            conns.append(_hold_a_request(proc.port))
        time.sleep(0.5)
        for proc in roles.values():
            proc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN_SECONDS
        for role, proc in roles.items():
            try:
                proc.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{role} still running {STOP_WITHIN_SECONDS}s after SIGTERM")
    finally:
        for conn in conns:
            conn.close()
