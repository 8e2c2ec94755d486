"""Scenario (g), dependency ceilings measured on the same servers in the same run: pgbench's
simple-update transaction, redis-benchmark for the commands the hot path sends, and raw
single-document inserts into nx-27017 through pymongo's AsyncMongoClient."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
import time
from typing import Any

from bench.stats import PhaseResult, own_cpu_seconds


def pgbench_init(database_url: str) -> None:
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", database_url], check=True, capture_output=True)


def pgbench_simple_update(database_url: str, seconds: float, clients: int = 10) -> dict[str, Any]:
    """`pgbench -N`: tps of the TPC-B-like transaction without the branch/teller hot rows."""
    out = subprocess.run(
        ["pgbench", "-N", "-n", "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))), database_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {"tps": parse_pgbench_tps(out), "clients": clients, "latency_ms": _pgbench_latency(out)}


def parse_pgbench_tps(output: str) -> float:
    found = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections)", output)
    if found is None:
        found = re.search(r"tps = ([0-9.]+)", output)
    if found is None:
        raise ValueError(f"no tps in pgbench output: {output[-500:]!r}")
    return float(found.group(1))


def _pgbench_latency(output: str) -> float | None:
    found = re.search(r"latency average = ([0-9.]+) ms", output)
    return float(found.group(1)) if found else None


def parse_redis_benchmark_csv(output: str) -> float:
    """Requests per second from `redis-benchmark --csv` output of one test."""
    rows = [r for r in csv.reader(io.StringIO(output)) if r and r[0] != "test"]
    if not rows:
        raise ValueError(f"no rows in redis-benchmark output: {output[-300:]!r}")
    return float(rows[-1][1])


def redis_benchmarks(port: int, requests: int, script_sha: str) -> dict[str, float]:
    """rps of SET NX EX (replay key), EVALSHA of the verifier's script, GET, 50 clients, no pipelining."""
    commands = {
        "set_nx_ex": ["SET", "gw:bench:replay:__rand_int__", "1", "NX", "EX", "600"],
        "evalsha_verify": [
            *("EVALSHA", script_sha, "2", "gw:bench:replay2:__rand_int__", "gw:bench:ratelimit"),
            *("600", "1", "1000000", "1000000"),
        ],
        "get": ["GET", "gw:bench:key"],
    }
    out = {}
    for name, command in commands.items():
        result = subprocess.run(
            [
                *("redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50", "-n", str(requests)),
                *("-r", "100000000", "--csv", *command),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        out[name] = parse_redis_benchmark_csv(result.stdout)
    return out


async def mongo_inserts(url: str, database: str, seconds: float, concurrency: int = 32) -> dict[str, Any]:
    """Single-document insert_one calls per second, documents shaped like a payin."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    collection = client[database]["bench_raw_inserts"]
    latencies: list[float] = []
    counter = 0

    async def inserter() -> None:
        nonlocal counter
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            counter += 1
            doc = {
                "_id": f"raw_{counter}",
                "merchant_id": "mer_bench",
                "reference": f"ref-{counter}",
                "amount": 10_000,
                "currency": "INR",
                "status": "pending",
                "customer": {"name": "Bench Customer", "email": "bench@example.com"},
                "version": 1,
            }
            started = time.perf_counter()
            await collection.insert_one(doc)
            latencies.append(time.perf_counter() - started)

    await collection.insert_one({"_id": "warm"})
    cpu0, t0 = own_cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(inserter() for _ in range(concurrency)))
    phase = PhaseResult(elapsed=time.perf_counter() - t0, latencies=latencies)
    phase.gen_cpu_seconds = own_cpu_seconds() - cpu0
    await collection.drop()
    await client.close()
    return phase.summary()
