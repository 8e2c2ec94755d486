"""Real processes and sockets for the sandbox tests: the simulator as a subprocess and a tiny
asyncio HTTP server that receives its callbacks (no mocks of our own HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class CallbackReceiver:
    """Minimal HTTP/1.1 server (keep-alive, Content-Length bodies) recording every POST.

    `fail_for[object_id] = n` answers 500 to the first n deliveries concerning that object.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_for: dict[str, int] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/callbacks/sandbox"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _answer(self, body: bytes) -> int:
        try:
            object_id = json.loads(body).get("object_id")
        except ValueError:
            return 200
        if self.fail_for.get(object_id, 0) > 0:
            self.fail_for[object_id] -= 1
            return 500
        return 200

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request_line := await reader.readline():
                if not request_line.strip():
                    continue
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._answer(body)
                self.received.append(Received(headers, body, status, time.time()))
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def delivered(self, object_id: str) -> list[Received]:
        """Callbacks about `object_id` that were answered 2xx, in arrival order."""
        return [r for r in self.received if r.answered == 200 and r.json["object_id"] == object_id]

    def attempts(self, object_id: str) -> list[Received]:
        return [r for r in self.received if r.json["object_id"] == object_id]


class SandboxProcess:
    """`python -m core.sandbox` on a free port, in its own process group."""

    def __init__(self, args: list[str], secret: str) -> None:
        self.port = free_port()
        self.secret = secret
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="sandbox-", suffix=".log", delete=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.sandbox", "--port", str(self.port), "--secret", secret, *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() can end Granian's worker along with it
        )
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=5.0)

    def output(self) -> str:
        return Path(self.log.name).read_text()

    async def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited: {self.output()}")
            try:
                if (await self.http.get("/__sandbox/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"sandbox not ready: {self.output()}")

    async def counters(self, kind: str, object_id: str) -> dict[str, Any]:
        return (await self.http.get(f"/__sandbox/{kind}s/{object_id}")).json()

    async def stats(self) -> dict[str, int]:
        return (await self.http.get("/__sandbox/stats")).json()

    async def faults(self, **faults: int) -> None:
        response = await self.http.post("/__sandbox/faults", json=faults)
        assert response.status_code == 200, response.text

    async def stop(self) -> None:
        await self.http.aclose()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


async def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())
