"""The benchmark harness's own arithmetic and signing (bench/): percentiles, throughput and CPU
accounting, uniquely signed raw requests the gateway's verifier accepts, the parsers of
pgbench / redis-benchmark / py-spy output, and the target verdicts. Quick: no stack starts."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time

import orjson
import pytest

from bench import deps, profiling, report
from bench.loadgen import closed_loop, open_loop
from bench.scenarios import active_rate
from bench.signing import Credentials, payin_body, payout_body, raw_request, signed_request
from bench.stats import PhaseResult, cpu_delta, parse_stat, percentile, process_tree, rss_mb, tree_cpu_seconds
from core.signing import signature

CREDS = Credentials("mer_1", "key_1", "sk_test_secret")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_phase_summary_counts_only_successes_in_throughput_and_latency() -> None:
    phase = PhaseResult(elapsed=2.0, latencies=[0.001 * i for i in range(1, 201)], gen_cpu_seconds=0.5)
    phase.errors.update({"http_500": 3, "ConnectionResetError": 1})
    summary = phase.summary()
    assert summary["ok"] == 200
    assert summary["errors"] == 4
    assert summary["requests"] == 204
    assert summary["throughput"] == 100.0
    assert summary["p50_ms"] == 100.0
    assert summary["p99_ms"] == 198.0
    assert summary["max_ms"] == 200.0
    assert summary["gen_cpu_share"] == 0.25
    assert summary["error_kinds"] == {"http_500": 3, "ConnectionResetError": 1}


def test_parse_stat_survives_a_command_name_with_spaces_and_parens() -> None:
    line = "4242 (weird (name) x) S 17 4242 4242 0 -1 4194560 10 0 0 0 250 75 0 0 20 0 1 0 100 1 1"
    assert parse_stat(line) == {"ppid": 17, "utime": 250, "stime": 75}


def test_cpu_and_memory_of_a_process_tree_come_from_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; sum(range(3_000_000)); time.sleep(5)"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in process_tree(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in process_tree(os.getpid())
        time.sleep(0.3)
        assert tree_cpu_seconds([child.pid]) > 0
        assert rss_mb(child.pid) > 1
    finally:
        child.kill()
        child.wait()
    assert rss_mb(child.pid) == 0.0


def _split(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


def test_signed_request_carries_the_signature_the_verifier_computes() -> None:
    body = payin_body(7, "run1")
    start, headers, sent = _split(
        signed_request(CREDS, "POST", "/v1/payins", "127.0.0.1:1", body, timestamp=1_700_000_000)
    )
    assert start == "POST /v1/payins HTTP/1.1"
    assert sent == body
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Api-Key"] == "key_1"
    assert headers["X-Timestamp"] == "1700000000"
    assert headers["X-Signature"] == signature("sk_test_secret", "1700000000", "POST", "/v1/payins", body)


def test_every_signed_request_is_unique_within_one_second() -> None:
    ts = 1_700_000_000
    requests = {signed_request(CREDS, "POST", "/v1/payouts", "h", payout_body(n, "r"), ts) for n in range(500)}
    assert len(requests) == 500
    signatures = {_split(r)[1]["X-Signature"] for r in requests}
    assert len(signatures) == 500


def test_bodies_pick_sandbox_outcomes_that_succeed() -> None:
    for n in range(200):
        payin, payout = orjson.loads(payin_body(n, "r")), orjson.loads(payout_body(n, "r"))
        assert payin["amount"] % 100 <= 50 and payout["amount"] % 100 <= 50
        assert payin["reference"] == f"bench-r-in-{n}"
        assert payout["beneficiary"]["ifsc"] == "HDFC0001234"


def test_get_requests_have_no_body_headers() -> None:
    start, headers, body = _split(raw_request("GET", "/v1/payins/pi_1", "h", {"X-Api-Key": "k"}))
    assert start == "GET /v1/payins/pi_1 HTTP/1.1"
    assert "Content-Length" not in headers
    assert body == b""


async def _tiny_server(fail_every: int) -> tuple[asyncio.Server, int]:
    seen = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.find(b"content-length:")
                if at >= 0:
                    await reader.readexactly(int(lower[at + 15 : lower.index(b"\r\n", at)]))
                seen += 1
                status = b"500 Internal" if seen % fail_every == 0 else b"201 Created"
                writer.write(b"HTTP/1.1 " + status + b'\r\nContent-Length: 11\r\n\r\n{"id":"x1"}')
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_closed_loop_counts_successes_errors_and_bodies() -> None:
    server, port = await _tiny_server(fail_every=4)
    bodies: list[bytes] = []
    async with server:
        phase = await closed_loop(
            "127.0.0.1",
            port,
            lambda n: signed_request(CREDS, "POST", "/v1/payins", "h", payin_body(n, "t")),
            concurrency=4,
            seconds=0.3,
            expect=201,
            on_body=lambda n, status, body: bodies.append(body),
        )
    summary = phase.summary()
    assert summary["ok"] > 20
    assert summary["errors"] == phase.errors["http_500"] > 0
    assert abs(summary["errors"] - summary["requests"] / 4) <= 4  # every 4th answer failed
    assert bodies and all(b == b'{"id":"x1"}' for b in bodies)
    assert 0 < summary["gen_cpu_share"] <= 1.5


async def test_open_loop_sends_at_the_offered_rate() -> None:
    server, port = await _tiny_server(fail_every=10**9)
    async with server:
        phase = await open_loop(
            "127.0.0.1", port, lambda n: raw_request("GET", "/", "h", {}), rate=200, seconds=0.5, expect=201
        )
    summary = phase.summary()
    assert summary["requests"] == 100
    assert summary["errors"] == 0
    assert summary["offered_rate"] == 200
    assert summary["throughput"] > 0  # its value depends on the machine's load: bench reports it, tests don't


def test_active_rate_ignores_idle_start_and_drained_end() -> None:
    samples = [(0.0, 0), (1.0, 0), (2.0, 0), (3.0, 100), (4.0, 200), (5.0, 300), (6.0, 300), (7.0, 300)]
    assert active_rate(samples) == 100.0
    assert active_rate([(0.0, 5), (1.0, 5)]) == 0.0


def test_parsers_of_dependency_tools() -> None:
    pgbench_out = (
        "number of transactions actually processed: 30000\n"
        "latency average = 3.333 ms\n"
        "initial connection time = 12.5 ms\n"
        "tps = 2999.123456 (without initial connection time)\n"
    )
    assert deps.parse_pgbench_tps(pgbench_out) == pytest.approx(2999.123456)
    with pytest.raises(ValueError):
        deps.parse_pgbench_tps("nothing here")
    csv_out = (
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
        '"SET gw:bench:replay:__rand_int__ 1 NX EX 600","61349.69","0.431","0.104","0.407","0.599","0.855","2.063"\n'
    )
    assert deps.parse_redis_benchmark_csv(csv_out) == pytest.approx(61349.69)


def test_profile_summary_of_collapsed_stacks() -> None:
    collapsed = (
        'process 1:"python";main (app.py:1);handle (core/payins.py:10);insert (pymongo/collection.py:5) 30\n'
        'process 1:"python";main (app.py:1);handle (core/payins.py:10);sign (core/signing.py:3) 10\n'
        'process 1:"python";main (app.py:1);idle (asyncio/base_events.py:9) 60\n'
    )
    summary = profiling.summarize(collapsed)
    assert summary["samples"] == 100
    assert summary["self"][0] == ("idle (asyncio/base_events.py)", 0.6)
    assert ("handle (core/payins.py)", 0.4) in summary["inclusive"]
    assert ("main (./app.py)", 1.0) in summary["inclusive"] or ("main (app.py)", 1.0) in summary["inclusive"]


def _http(rate: float, p99: float = 10.0, errors: int = 0) -> dict[str, object]:
    phase = {
        **{"throughput": rate, "p50_ms": p99 / 4, "p95_ms": p99 / 2, "p99_ms": p99, "errors": errors},
        **{"offered_rate": rate / 2, "gen_cpu_share": 0.2, "server_cpu_share": 0.9},
    }
    return {"closed": phase, "open": phase, "concurrency": 32}


def test_evaluate_computes_ratios_and_verdicts() -> None:
    results = {
        "a": _http(4000),
        "x": _http(2000),
        "b": _http(700, p99=40),
        "c": _http(400),
        "c_hot": _http(150),
        "d": _http(1500),
        "f_spread": {"throughput": 1600.0, "p50_ms": 5.0, "p99_ms": 20.0, "errors": 0},
        "f_hot": {"throughput": 300.0, "p50_ms": 30.0, "p99_ms": 90.0, "errors": 0},
        "g": {
            "pgbench_n": {"tps": 3000.0},
            "redis": {"evalsha_verify": 30000.0},
            "mongo_insert": {"throughput": 2500.0},
        },
        "rss_mb": {
            "payment": {"total": 120.0, "processes": [20.0, 100.0]},
            "api": {"total": 210.0, "processes": [100.0, 110.0]},
        },
        "e": {"callbacks_per_second": 250.0, "webhooks_per_second": 50.0},
        "cli": {"help_seconds": 0.2, "invoke_ready_seconds": 2.0},
    }
    ev = report.evaluate(results)
    assert ev["slowest_dependency"] == "mongo_insert"
    assert ev["ratios"]["b"]["to_a"] == 0.175
    assert ev["ratios"]["f_spread"]["to_pgbench"] == 0.533
    assert ev["ratios"]["b"]["cpu_to_echo"] == round(0.45 / 0.45 * (2000 / 700), 3)
    verdicts = {t["target"]: t["met"] for t in ev["targets"]}
    assert verdicts == {
        "(x) echo role CPU <= 2 x the ceiling (a)": True,  # 0.45 ms vs 0.225 ms
        "(b) payin role CPU <= 3 x echo's (its callback included)": True,  # 2.86x
        "(b) payin rate >= 25 % of echo's": True,
        "(b) p99 <= 50 ms at half of (b)'s max rate": True,
        "(b) zero errors": True,
        "(c) payout role CPU <= 4 x echo's": False,  # 5x
        "(c) payout rate >= 15 % of echo's": True,
        "(c-hot) >= 50 % of (c)": False,
        "(d) GET role CPU <= 1.5 x echo's": True,
        "(e) worker >= 200 callbacks/s per process": True,
        "(e) worker >= 200 webhook deliveries/s per process": False,
        "(f-spread) >= 50 % of pgbench -N": True,
        "(f-hot) >= 25 % of pgbench -N": False,
        "payment RSS <= 150 MB": True,
        "api RSS <= 150 MB": False,
        "`gateway --help` <= 0.3 s": True,
        "`gateway invoke health.ready` <= 1.5 s": False,
    }, verdicts
    missed = [t for t in ev["targets"] if t["met"] is False]
    assert all(t["reason"] for t in missed)
    table = report.markdown(
        {
            "results": results,
            "evaluation": ev,
            "date": "d",
            "quick": True,
            "machine": "m",
            "commit": "c",
            "command": "x",
        }
    )
    assert "| (b) POST /v1/payins | 32 | 700 |" in table
    assert "**no**" in table


def test_cpu_delta_ignores_processes_that_exited_or_started_between_snapshots() -> None:
    before = {"postgres": {10: 5.0, 11: 7.0}, "payment": {20: 1.0}}
    after = {"postgres": {10: 5.5, 12: 0.2}, "payment": {20: 1.75}}
    assert cpu_delta(before, after) == {"postgres": 0.5, "payment": 0.75}
