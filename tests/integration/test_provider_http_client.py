"""The provider HTTP client (core/providers/http.py) against real sockets: what it sends, and how a
failure is classified, since the classification decides whether a create may be resubmitted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.providers.base import ProviderUnavailable
from core.providers.http import ProviderHttpClient

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _server(serve: Serve) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/prefix"


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    length = next(
        (int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")), 0
    )
    return head, await reader.readexactly(length) if length else b""


def _client(base_url: str, read_timeout: float = 2.0) -> ProviderHttpClient:
    return ProviderHttpClient("test", base_url, connect_timeout=1.0, read_timeout=read_timeout, retry_base_delay=0.01)


async def test_the_quoted_path_body_and_headers_arrive_as_sent_and_the_answer_comes_back() -> None:
    seen: list[tuple[str, bytes]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(
            b'HTTP/1.1 409 Conflict\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{"a": "\xc3\xa9"}'
        )
        await writer.drain()
        writer.close()

    server, url = await _server(serve)
    client = _client(url)
    try:
        answer = await client.request(
            "create", "POST", "/payins/a%2Fb", content=b'{"x":1}', headers={"X-Sig": "abc"}, idempotent=False
        )
    finally:
        await client.aclose()
        server.close()
    head, body = seen[0]
    assert head.startswith("POST /prefix/payins/a%2Fb HTTP/1.1\r\n"), head
    assert "x-sig: abc" in head.lower() and body == b'{"x":1}'
    assert answer.status_code == 409 and answer.content == b'{"a": "\xc3\xa9"}' and answer.text == '{"a": "é"}'


async def test_a_connection_dropped_before_the_answer_is_dropped_and_a_create_is_not_retried() -> None:
    calls = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        await _read_request(reader)
        writer.close()  # the provider got the call: its outcome is unknown

    server, url = await _server(serve)
    client = _client(url)
    try:
        with pytest.raises(ProviderUnavailable) as create:
            await client.request("create", "POST", "/payins", content=b"{}", idempotent=False)
        assert (create.value.kind, calls) == ("dropped", 1)
        with pytest.raises(ProviderUnavailable) as status:
            await client.request("status", "GET", "/payins/x", idempotent=True)
        # queries are retried (and aiohttp itself retries a GET once on a reused keep-alive connection)
        assert status.value.kind == "dropped" and calls >= 1 + client.retry_attempts
    finally:
        await client.aclose()
        server.close()


async def test_an_answer_slower_than_the_read_timeout_is_a_timeout() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(2)
        writer.close()

    server, url = await _server(serve)
    client = _client(url, read_timeout=0.2)
    try:
        with pytest.raises(ProviderUnavailable) as slow:
            await client.request("create", "POST", "/payins", content=b"{}", idempotent=False)
        assert slow.value.kind == "timeout"
    finally:
        await client.aclose()
        server.close()


def test_a_client_serves_a_second_event_loop_after_the_first_ended() -> None:
    """Adapters are cached per process and may outlive a loop (tests, `gateway invoke`)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    client: ProviderHttpClient | None = None

    async def one_call() -> int:
        nonlocal client
        server, url = await _server(serve)
        try:
            if client is None:
                client = _client(url)
            client.base_url = url  # the second loop's server listens elsewhere
            return (await client.request("status", "GET", "/x", idempotent=True)).status_code
        finally:
            server.close()

    assert asyncio.run(one_call()) == 200
    assert asyncio.run(one_call()) == 200  # a new session on the new loop, not the dead loop's
