"""An asyncio HTTP/1.1 load generator on raw streams: keep-alive connections, requests built
(and signed) at send time by a factory, latency per request.

Two modes: `closed_loop` (fixed concurrency: each connection sends its next request when the
previous answer arrived) and `open_loop` (fixed arrival rate: requests are due on a schedule
whatever the server does, and latency counts from the scheduled time, so a server that falls
behind shows it in the percentiles instead of silently slowing the generator down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench.stats import PhaseResult, cpu_delta, cpu_snapshot, machine_busy_seconds, own_cpu_seconds, tree_cpu_seconds

# factory(n) -> raw request bytes; called once per request, just before it is sent
Factory = Callable[[int], bytes]
# on_body(n, status, body) for callers that need answers (the payin ids for scenario d)
BodySink = Callable[[int, int, bytes], None]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at >= 0:
            length = int(lower[at + 15 : lower.index(b"\r\n", at)])
            return status, await self.reader.readexactly(length)
        if b"transfer-encoding: chunked" in lower:
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    return status, b"".join(chunks)
                chunks.append(data[:-2])
        return status, b""

    def close(self) -> None:
        self.writer.close()


class _Run:
    def __init__(
        self, expect: int, on_body: BodySink | None, server_pids: list[int], watch: dict[str, list[int]] | None
    ) -> None:
        self.expect, self.on_body, self.server_pids = expect, on_body, server_pids
        self.watch = watch or {}
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.counter = 0

    def next_n(self) -> int:
        self.counter += 1
        return self.counter

    def record(self, n: int, started: float, status: int, body: bytes) -> None:
        if status == self.expect:
            self.latencies.append(time.perf_counter() - started)
            if self.on_body is not None:
                self.on_body(n, status, body)
        else:
            kind = f"http_{status}"
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def fail(self, exc: BaseException) -> None:
        kind = type(exc).__name__
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _measure(run: _Run, body: Any, offered: float | None) -> PhaseResult:
    cpu0, srv0, t0 = own_cpu_seconds(), tree_cpu_seconds(run.server_pids), time.perf_counter()
    watched0, busy0 = cpu_snapshot(run.watch), machine_busy_seconds()
    await body
    elapsed = time.perf_counter() - t0
    watched1 = cpu_snapshot(run.watch)
    result = PhaseResult(
        elapsed=elapsed,
        latencies=run.latencies,
        gen_cpu_seconds=own_cpu_seconds() - cpu0,
        server_cpu_seconds=tree_cpu_seconds(run.server_pids) - srv0,
        offered_rate=offered,
        cpu_by_process=cpu_delta(watched0, watched1),
        machine_cpu_seconds=machine_busy_seconds() - busy0,
    )
    result.errors.update(run.errors)
    return result


async def closed_loop(
    host: str,
    port: int,
    factory: Factory,
    *,
    concurrency: int,
    seconds: float,
    expect: int,
    on_body: BodySink | None = None,
    server_pids: list[int] | None = None,
    watch: dict[str, list[int]] | None = None,
) -> PhaseResult:
    run = _Run(expect, on_body, server_pids or [], watch)

    async def user() -> None:
        deadline = time.perf_counter() + seconds
        conn: Connection | None = None
        while time.perf_counter() < deadline:
            try:
                if conn is None:
                    conn = await Connection.open(host, port)
                n = run.next_n()
                request = factory(n)
                started = time.perf_counter()
                status, body = await conn.exchange(request)
                run.record(n, started, status, body)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                run.fail(exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    async def all_users() -> None:
        await asyncio.gather(*(user() for _ in range(concurrency)))

    return await _measure(run, all_users(), None)


async def open_loop(
    host: str,
    port: int,
    factory: Factory,
    *,
    rate: float,
    seconds: float,
    expect: int,
    max_connections: int = 128,
    on_body: BodySink | None = None,
    server_pids: list[int] | None = None,
    watch: dict[str, list[int]] | None = None,
) -> PhaseResult:
    run = _Run(expect, on_body, server_pids or [], watch)
    idle: list[Connection] = []
    opened = 0
    slots = asyncio.Semaphore(max_connections)

    async def one(scheduled: float) -> None:
        nonlocal opened
        async with slots:  # waiting for a connection counts in the latency (from `scheduled`)
            conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = await Connection.open(host, port)
                    opened += 1
                n = run.next_n()
                status, body = await conn.exchange(factory(n))
                run.record(n, scheduled, status, body)
                idle.append(conn)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                run.fail(exc)
                if conn is not None:
                    conn.close()

    async def schedule() -> None:
        start = time.perf_counter()
        total = int(rate * seconds)
        tasks = []
        sent = 0
        while sent < total:
            now = time.perf_counter()
            due = min(total, int((now - start) * rate) + 1)
            while sent < due:
                tasks.append(asyncio.create_task(one(start + sent / rate)))
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        for conn in idle:
            conn.close()

    return await _measure(run, schedule(), rate)
