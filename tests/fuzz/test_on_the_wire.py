"""Hostile input on the wire (issue 14 item 3): a real role process under Granian, spoken to over
raw sockets, for what only a server sees: lying or missing Content-Length, chunked bodies,
header bytes on the wire, slow clients. The request-level cases are in test_hostile_input.py.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time

import httpx
import orjson
import pytest

from tests.fuzz.hooks import SANE_ID, Merchant, assert_error, module_merchant, parse_http, raw_http

MiB = 1024 * 1024
_nonces = itertools.count()


@pytest.fixture(scope="module")
async def merchant(resources) -> Merchant:
    return await module_merchant(resources, name="Hostile input on the wire")


# --- on the wire: a real role process under Granian ------------------------------------------


def wire_request(merchant: Merchant, body: bytes, extra: bytes = b"", path: str = "/v1/echo") -> bytes:
    """Request line and headers of a signed POST (no body, no framing header), ready for framing."""
    path += f"?nonce={next(_nonces)}"
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
    for name, value in merchant.sign("POST", path, body).items():
        head += f"{name}: {value}\r\n"
    return head.encode() + extra


def assert_wire_error(data: bytes, status: int, code: str) -> None:
    assert data, "the server closed the connection without an answer"
    assert_error(parse_http(data), status, code)


def assert_still_serving(port: int) -> None:
    started = time.monotonic()
    assert httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=5).status_code == 200
    assert time.monotonic() - started < 2


@pytest.fixture(scope="module")
async def api_port(stack) -> int:
    return stack.api.port


def test_body_over_1_mib_is_413_on_the_wire(api_port, merchant) -> None:
    body = b'{"message": "' + b"a" * MiB + b'"}'
    head = wire_request(merchant, body, f"Content-Length: {len(body)}\r\n\r\n".encode())
    assert_wire_error(raw_http(api_port, head + body), 413, "payload_too_large")
    assert_still_serving(api_port)


def test_content_length_claiming_more_than_1_mib_is_413_without_sending_it(api_port, merchant) -> None:
    body = b'{"message": "short"}'
    head = wire_request(merchant, body, f"Content-Length: {50 * MiB}\r\n\r\n".encode())
    started = time.monotonic()
    assert_wire_error(raw_http(api_port, head + body, timeout=10), 413, "payload_too_large")
    assert time.monotonic() - started < 5, "the server waited for a body it was going to refuse"


def test_content_length_claiming_less_than_sent_is_refused_and_the_rest_is_not_a_request(api_port, merchant) -> None:
    body = b'{"message": "' + b"a" * (2 * MiB) + b'"}'
    head = wire_request(merchant, body, b"Content-Length: 100\r\n\r\n")
    data = raw_http(api_port, head + body)
    responses = [r for r in data.split(b"HTTP/1.1 ")[1:]]
    assert responses, data[:500]
    first = parse_http(b"HTTP/1.1 " + responses[0])
    # 100 bytes of the body are the body: they are not what was signed.
    assert_error(first, 401, "invalid_signature")
    assert all(not r.startswith(b"5") for r in responses), data[:2000]
    assert_still_serving(api_port)


def test_chunked_body_over_1_mib_is_413(api_port, merchant) -> None:
    body = b'{"message": "' + b"a" * (2 * MiB) + b'"}'
    head = wire_request(merchant, body, b"Transfer-Encoding: chunked\r\n\r\n")
    chunks = b"".join(
        f"{len(body[i : i + 65536]):x}\r\n".encode() + body[i : i + 65536] + b"\r\n" for i in range(0, len(body), 65536)
    )
    assert_wire_error(raw_http(api_port, head + chunks + b"0\r\n\r\n"), 413, "payload_too_large")
    assert_still_serving(api_port)


def test_chunked_body_under_1_mib_is_accepted(api_port, merchant) -> None:
    body = orjson.dumps({"message": "b" * 1000})
    head = wire_request(merchant, body, b"Transfer-Encoding: chunked\r\n\r\n")
    chunks = b"".join(
        f"{len(body[i : i + 100]):x}\r\n".encode() + body[i : i + 100] + b"\r\n" for i in range(0, 1000, 100)
    )
    chunks += f"{len(body[1000:]):x}\r\n".encode() + body[1000:] + b"\r\n0\r\n\r\n"
    response = parse_http(raw_http(api_port, head + chunks))
    assert response.status == 200, response.body[:300]


@pytest.mark.parametrize(
    "header",
    [
        b"X-Request-Id: abc\rX-Injected: 1\r\n",  # a bare CR
        b"X-Request-Id: abc\r\n X-Injected: 1\r\n",  # obsolete line folding
        b"X-Request-Id: abc\x00X-Injected: 1\r\n",
        b"Idempotency-Key: k\rX-Injected: 1\r\n",
    ],
)
def test_header_injection_on_the_wire_is_never_reflected(api_port, merchant, header) -> None:
    body = orjson.dumps({"message": "hi"})
    head = wire_request(merchant, body, header + f"Content-Length: {len(body)}\r\n\r\n".encode())
    data = raw_http(api_port, head + body)
    if data:  # Granian may refuse the request (400) or drop the connection: both are fine
        response = parse_http(data)
        assert response.status < 500, data[:500]
        for name, value in response.headers:
            assert b"injected" not in name.lower() and b"X-Injected" not in value, data[:500]
        request_id = response.header("x-request-id")
        assert request_id is None or SANE_ID.match(request_id), request_id
    assert_still_serving(api_port)


# --- slow clients ----------------------------------------------------------------------------

HEADER_READ_TIMEOUT_S = 10  # core/cli/serve.py sets Granian's header_read_timeout to 10,000 ms


def _slow_header_client(port: int, stop: threading.Event, closed_after: list[float]) -> None:
    """Sends a request's headers one byte a second and never ends them; notes when the server hangs up."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    started = time.monotonic()
    try:
        for byte in b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000:
            if stop.is_set():
                return
            sock.sendall(bytes([byte]))
            sock.settimeout(1)
            try:
                if sock.recv(1024) == b"":
                    closed_after.append(time.monotonic() - started)
                    return
            except TimeoutError:
                pass
    except (BrokenPipeError, ConnectionResetError):
        closed_after.append(time.monotonic() - started)
    finally:
        sock.close()


def test_slow_clients_do_not_hang_others_and_slow_headers_are_cut_off(api_port, merchant) -> None:
    stop = threading.Event()
    closed_after: list[float] = []
    slow_headers = [
        threading.Thread(target=_slow_header_client, args=(api_port, stop, closed_after), daemon=True)
        for _ in range(20)
    ]
    for thread in slow_headers:
        thread.start()
    # And clients that send whole headers and then never finish the body they announced.
    stalled = []
    for _ in range(20):
        body = b'{"message": "never finished"}'
        sock = socket.create_connection(("127.0.0.1", api_port), timeout=5)
        sock.sendall(wire_request(merchant, body, f"Content-Length: {len(body) + 100}\r\n\r\n".encode()) + body)
        stalled.append(sock)
    try:
        time.sleep(1)
        latencies = []
        with httpx.Client(timeout=5) as client:
            for i in range(30):
                started = time.monotonic()
                body = orjson.dumps({"message": f"normal {i}"})
                path = f"/v1/echo?nonce={next(_nonces)}"
                headers = {"content-type": "application/json", **merchant.sign("POST", path, body)}
                response = client.post(f"http://127.0.0.1:{api_port}{path}", content=body, headers=headers)
                assert response.status_code == 200, response.text
                latencies.append(time.monotonic() - started)
        assert max(latencies) < 1.0, latencies
        # The header read timeout bounds the slow-header clients: every one is cut off.
        deadline = time.monotonic() + HEADER_READ_TIMEOUT_S + 10
        while len(closed_after) < len(slow_headers) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(closed_after) == len(slow_headers), closed_after
        assert max(closed_after) <= HEADER_READ_TIMEOUT_S + 5, closed_after
        print(f"slow headers cut off after {min(closed_after):.1f}-{max(closed_after):.1f} s")
        assert_still_serving(api_port)
    finally:
        stop.set()
        for sock in stalled:
            sock.close()


def test_a_body_that_never_finishes_is_cut_off_too(api_port, merchant) -> None:
    """A client that announces a body and stops sending it must not hold its connection (and a
    request slot) for ever; the bound asked for is the header one, 30 s, answered (4xx) or just
    closed. Granian has no body read timeout, so this needs one in the app (docs/reliability.md)."""
    stalled = []
    for _ in range(5):
        body = b'{"message": "never finished"}'
        sock = socket.create_connection(("127.0.0.1", api_port), timeout=5)
        sock.sendall(wire_request(merchant, body, f"Content-Length: {len(body) + 100}\r\n\r\n".encode()) + body)
        stalled.append(sock)
    answers: dict[int, bytes] = {}
    try:
        deadline = time.monotonic() + HEADER_READ_TIMEOUT_S + 5
        while len(answers) < len(stalled) and time.monotonic() < deadline:
            for index, sock in enumerate(stalled):
                if index not in answers:
                    ended = _ended(sock)
                    if ended is not None:
                        answers[index] = ended
            time.sleep(0.5)
        assert len(answers) == len(stalled), (
            f"{len(stalled) - len(answers)}/{len(stalled)} connections with an unfinished body still open after 35 s"
        )
        for answer in answers.values():
            assert not answer or 400 <= parse_http(answer).status < 500, answer[:300]
        assert_still_serving(api_port)
    finally:
        for sock in stalled:
            sock.close()


def _ended(sock: socket.socket) -> bytes | None:
    """What the server sent before ending the exchange (b"" when it just closed); None while it waits."""
    sock.settimeout(0.05)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return None
    except OSError:
        return b""
    return data
