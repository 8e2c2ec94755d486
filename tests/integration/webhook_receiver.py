"""A tiny real HTTP/1.1 server standing in for a merchant's webhook endpoint.

It records every request it reads and answers according to its knobs: `fail_first` requests
get 500, `delay` seconds of silence before answering, `redirect_to` answers 302, `stop()` takes
it down (connections refused) and `start()` brings it back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    fail_first: int = 0
    delay: float = 0.0
    redirect_to: str | None = None
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def for_event(self, event_id: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("x-webhook-id") == event_id]

    async def wait_for(self, event_id: str, count: int = 1, timeout: float = 15.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.for_event(event_id)) >= count)
        return self.for_event(event_id)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            async with self._arrived:
                self.requests.append(Received(method, path, headers, body))
                number = len(self.requests)
                self._arrived.notify_all()
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.redirect_to is not None:
                status, extra, payload = "302 Found", f"Location: {self.redirect_to}\r\n", b"moved"
            elif number <= self.fail_first:
                status, extra, payload = "500 Internal Server Error", "", b'{"error": "receiver says no"}'
            else:
                status, extra, payload = "200 OK", "", b'{"received": true}' + b" " * 2000
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
