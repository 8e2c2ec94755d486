"""Shared tools of the fuzz suite: a raw ASGI caller (exact bytes, no client normalisation),
raw HTTP over sockets to a real role process, and merchants made for a whole module."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from core.routing import route_everything_to
from core.signing import sign_request
from tests.fixtures.merchants import new_merchant
from tests.fixtures.stack import MERCHANT_FEES

ERROR_KEYS = {"code", "message", "request_id"}


@dataclass
class Merchant:
    merchant_id: str
    key_id: str
    secret: str = field(repr=False)

    def sign(self, method: str, path_and_query: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return sign_request(self.key_id, self.secret, method, path_and_query, body, timestamp)


async def module_merchant(resources: Any, ple_id: str | None = None, name: str = "Fuzz merchant") -> Merchant:
    """A merchant (routed to `ple_id` when given), usable by every test of a module."""
    kw: dict[str, Any] = {"fee_plans": MERCHANT_FEES} if ple_id else {}
    created = await new_merchant(resources, name, **kw)
    merchant_id = created["merchant"]["id"]
    if ple_id:
        await route_everything_to(resources, merchant_id, ple_id, actor="test")
    return Merchant(merchant_id, created["key_id"], created["secret"])


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == wanted), None)

    def error_code(self) -> str | None:
        try:
            return self.json()["error"]["code"]  # type: ignore[no-any-return]
        except (ValueError, KeyError, TypeError):
            return None


async def asgi_call(
    app: Any, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> RawResponse:
    """One request into `app` with the request target and header bytes exactly as given."""
    raw_path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(k.lower(), v) for k, v in headers],
        "server": ("gateway.local", 80),
        "client": ("127.0.0.1", 40000),
        "root_path": "",
    }
    sent = False
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return RawResponse(started["status"], list(started.get("headers", [])), b"".join(chunks))


def raw_http(port: int, payload: bytes, timeout: float = 10.0, host: str = "127.0.0.1") -> bytes:
    """Send `payload` as is over a fresh TCP connection; return everything read until close."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_until_closed(sock, timeout)


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if _complete(data):
            break
    return data


def _complete(data: bytes) -> bool:
    """True once a whole response (Content-Length or chunked) is in `data`."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    lines = head.lower().split(b"\r\n")
    for line in lines:
        if line.startswith(b"content-length:"):
            return len(rest) >= int(line.split(b":", 1)[1])
    if any(line.startswith(b"transfer-encoding:") and b"chunked" in line for line in lines):
        return rest.endswith(b"0\r\n\r\n")
    return False


def parse_http(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(p.strip() for p in line.split(b":", 1)) for line in lines[1:] if b":" in line]
    if any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers):
        body = _dechunk(body)
    return RawResponse(status, headers, body)  # type: ignore[arg-type]


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def assert_error(response: RawResponse | httpx.Response, status: int, code: str, param: str | None = None) -> None:
    status_code = response.status if isinstance(response, RawResponse) else response.status_code
    body = response.body if isinstance(response, RawResponse) else response.content
    assert status_code == status, (status_code, body[:500])
    error = orjson.loads(body)["error"]
    assert ERROR_KEYS <= set(error), error
    assert error["code"] == code, error
    if param is not None:
        assert error.get("param") == param, error
