"""A real HTTP/1.1 proxy in front of the gateway that breaks the answers it is told to break.

It runs in its own threads (so blocking `Client` tests and asyncio `AsyncClient` tests can both
use it), forwards each request byte for byte to the upstream gateway on a fresh connection, and
records what it saw. `fail(kind, method=..., times=n)` arms faults for the next matching requests:

| kind | what the client sees | did the gateway run it? |
|---|---|---|
| `502_after` | a 502 from the proxy (not the gateway's error shape) | yes: its answer is thrown away |
| `drop_after` | the connection closes without an answer | yes |
| `drop_early` | the connection closes at once, while the gateway still works on it | yes, finishing later |
| `503_before` | a 503 from the proxy | no |
| `drop_before` | the connection closes without an answer | no |
| `429_before` | 429 with `Retry-After: 1` | no |
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str  # path and query as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes
    fault: str | None
    upstream_status: int | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


@dataclass
class Fault:
    kind: str
    method: str | None
    path: str | None


@dataclass
class FaultProxy:
    upstream: str  # http://host:port
    seen: list[Seen] = field(default_factory=list)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, kind: str, *, method: str | None = None, path: str | None = None, times: int = 1) -> None:
        with self._lock:
            self._faults.extend(Fault(kind, method, path) for _ in range(times))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [
            s for s in self.seen if (method is None or s.method == method) and (path is None or s.path.startswith(path))
        ]

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _take_fault(self, method: str, path: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if (fault.method in (None, method)) and (fault.path is None or path.startswith(fault.path)):
                    self._faults.remove(fault)
                    return fault.kind
        return None

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(30)
        reader = client.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            if not line:
                return
            head += line
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
        body = reader.read(int(headers.get("content-length", "0")))
        fault = self._take_fault(method, path)
        seen = Seen(method, path, headers, body, fault)
        with self._lock:
            self.seen.append(seen)
        if fault in ("503_before", "429_before"):
            status = "503 Service Unavailable" if fault == "503_before" else "429 Too Many Requests"
            client.sendall(self._answer(status, b"<html>proxy says no</html>", "Retry-After: 1\r\n"))
            return
        if fault == "drop_before":
            return
        forwarded = self._head_with_close(lines) + body
        if fault == "drop_early":
            client.shutdown(socket.SHUT_RDWR)
            client.close()
        answer = self._exchange(forwarded)
        seen.upstream_status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
        if fault == "drop_early" or fault == "drop_after":
            return
        if fault == "502_after":
            client.sendall(self._answer("502 Bad Gateway", b"<html>upstream went away</html>"))
            return
        client.sendall(self._close_answer(answer))

    def _exchange(self, request: bytes) -> bytes:
        target = urlsplit(self.upstream)
        with socket.create_connection((target.hostname, target.port), timeout=30) as upstream:
            upstream.sendall(request)
            chunks = []
            while chunk := upstream.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _head_with_close(lines: list[str]) -> bytes:
        kept = [x for x in lines[1:] if x and not x.lower().startswith("connection:")]
        return ("\r\n".join([lines[0], *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def _close_answer(answer: bytes) -> bytes:
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = [x for x in head.split(b"\r\n") if not x.lower().startswith(b"connection:")]
        return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body

    @staticmethod
    def _answer(status: str, body: bytes, extra: str = "") -> bytes:
        return (
            f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
