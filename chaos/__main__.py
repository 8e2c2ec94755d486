"""`python -m chaos [--quick] [--seed N]`: drive mixed payins, payouts and refunds through real
processes over two PLEs, each on its own sandbox, while workers are SIGKILLed, Redis and
PostgreSQL restart, the sandboxes fail (before and after acting), answer too late, drop and delay
callbacks, and a lane forges callbacks with the other PLE's secret; then let it drain and check
every invariant, the provider's truth included (docs/reliability.md). Exit 1 on any violation."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from chaos.checks import run_checks
from chaos.forged import ForgedLane
from chaos.lanes import drive, plan
from chaos.procs import PrivatePostgres, PrivateRedis, Proc, gateway
from chaos.proxy import RoundRobinProxy
from core.local_services import free_port, start_mongo

RESULTS = Path("chaos/results")
PLES = ("a", "b")  # two PLEs, each on its own sandbox with its own secret; b's holder forges callbacks
READ_TIMEOUT_SECONDS = 2  # the gateway's provider read timeout in the run; slow answers exceed it


async def webhook_receiver(port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0
            )
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def seed(merchants: int, sandbox_urls: dict[str, str], hook_url: str) -> dict[str, dict[str, Any]]:
    """Both PLEs (secrets generated per run: a PLE secret never has a default) and the merchants,
    routed alternately to a and b, each funded."""
    from core.config import load_settings
    from core.ids import new_id
    from core.ledger import adjust_merchant_balance
    from core.merchants.service import Actor, create_merchant
    from core.resources import open_resources
    from core.routing import create_ple, route_everything_to

    settings = load_settings()
    ples: dict[str, dict[str, Any]] = {}
    async with open_resources(settings, pool_size=4) as res:
        plan = {"percent_bps": 50, "fixed": 0}
        schedule = {"payin": {"upi": plan}, "payout": {"imps": plan}}
        for name in PLES:
            secret = secrets.token_urlsafe(32)
            ple = await create_ple(
                res,
                provider="sandbox",
                name=f"chaos {name}",
                currency="INR",
                base_url=sandbox_urls[name],
                secret=secret,
                fee_schedule=schedule,
                actor="chaos",
            )
            ples[name] = {"id": ple["id"], "secret": secret, "sandbox_url": sandbox_urls[name], "merchants": []}
        fees = {
            "payin": {"upi": {"percent_bps": 200, "fixed": 0}},
            "payout": {"imps": {"percent_bps": 0, "fixed": 500}},
        }
        for i in range(merchants):
            ple = ples[PLES[i % 2]]
            created = await create_merchant(
                res, name=f"chaos {i}", actor=Actor("chaos"), webhook_url=hook_url, fee_plans=fees
            )
            mid = created["merchant"]["id"]
            await route_everything_to(res, mid, ple["id"], actor="chaos")
            await adjust_merchant_balance(res.db, mid, "INR", 100_000_000, new_id("fund"), "chaos funding")
            ple["merchants"].append({"merchant_id": mid, "key_id": created["key_id"], "secret": created["secret"]})
    return ples


def sandbox_process(name: str, ple: dict[str, Any], port: int, callback_url: str, env: dict[str, str]) -> Proc:
    """A provider that errs before acting (10 %), drops callbacks (20 %), answers a share of
    creates slower than the gateway waits (5 %) or with a 5xx after acting (5 %)."""
    faults = {
        "--delay-seconds": "1",
        "--error-rate": "0.1",
        "--drop-callback-rate": "0.2",
        "--latency-ms": "20",
        "--slow-create-rate": "0.05",
        "--slow-create-ms": str(int(READ_TIMEOUT_SECONDS * 1000 + 1500)),
        "--error-after-rate": "0.05",
    }
    args = ["sandbox", "--port", str(port), "--secret", ple["secret"], "--callback-url", callback_url]
    return gateway(f"sandbox-{name}", [*args, *[x for pair in faults.items() for x in pair]], env, port)


async def faults(
    rng: random.Random,
    workers: list[Any],
    redis: PrivateRedis,
    pg: PrivatePostgres,
    done: asyncio.Event,
    progress: dict[str, int],
    total: int,
    stats: dict[str, Any],
) -> None:
    redis_done = pg_done = False
    while not done.is_set():
        await asyncio.sleep(3)
        victim = rng.choice(workers)
        victim.kill()
        stats["worker_kills"] += 1
        await asyncio.to_thread(victim.start)
        if not redis_done and progress["sent"] > total * 0.3:
            await asyncio.to_thread(redis.restart)
            redis_done = True
            stats["redis_restarts"] += 1
        if not pg_done and progress["sent"] > total * 0.6:
            await asyncio.to_thread(pg.restart)
            pg_done = True
            stats["postgres_restarts"] += 1


async def main(seed_value: int, ops: int, merchants_n: int, drain_seconds: int) -> int:
    print(f"chaos: seed {seed_value} ({ops} operations, {merchants_n} merchants)", file=sys.stderr)
    started = time.monotonic()
    rng = random.Random(seed_value)
    operations = plan(rng, ops, merchants_n)
    pg, redis = PrivatePostgres(), PrivateRedis()
    pg.start()
    redis.start()
    mongo_port = free_port()
    mongo = start_mongo(mongo_port, "memory")
    ports = {name: free_port() for name in ("sandbox-a", "sandbox-b", "proxy", "p0", "p1", "w0", "w1", "hook")}
    proxy_url = f"http://127.0.0.1:{ports['proxy']}"
    env = {
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "MONGO_URL": f"mongodb://127.0.0.1:{mongo_port}/chaos",
        "ENVIRONMENT": "test",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "WEBHOOK_RETRY_SCHEDULE": "1,2,4",
        "PAYOUT_POLL_INITIAL_DELAY_SECONDS": "1",
        "PAYOUT_POLL_MAX_ATTEMPTS": "4",
        "PAYIN_EXPIRY_UNIT_SECONDS": "3",
        "PROVIDER_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "core", "migrate"], check=True, capture_output=True)
    sandbox_urls = {name: f"http://127.0.0.1:{ports[f'sandbox-{name}']}" for name in PLES}
    ples = await seed(merchants_n, sandbox_urls, f"http://127.0.0.1:{ports['hook']}/hook")
    # a's callbacks come to its own URL, b's to the provider's shared one: both paths are exercised
    callback_urls = {
        "a": f"{proxy_url}/v1/callbacks/sandbox/{ples['a']['id']}",
        "b": f"{proxy_url}/v1/callbacks/sandbox",
    }
    sandboxes = [sandbox_process(name, ples[name], ports[f"sandbox-{name}"], callback_urls[name], env) for name in PLES]
    payments = [
        gateway(f"payment-{i}", ["serve", "--role", "payment", "--port", str(ports[f"p{i}"])], env, ports[f"p{i}"])
        for i in range(2)
    ]
    workers = [
        gateway(f"worker-{i}", ["serve", "--role", "worker", "--port", str(ports[f"w{i}"])], env, ports[f"w{i}"])
        for i in range(2)
    ]
    procs = [*sandboxes, *payments, *workers]
    proxy = RoundRobinProxy(ports["proxy"], [ports["p0"], ports["p1"]])
    hook = await webhook_receiver(ports["hook"])
    stats: dict[str, Any] = {
        "seed": seed_value,
        "answers": {},
        "connection_errors": 0,
        "server_errors": 0,
        "gave_up": 0,
        "worker_kills": 0,
        "redis_restarts": 0,
        "postgres_restarts": 0,
    }
    forged_problems: list[str] = []
    merchants = [m for i in range(merchants_n) for m in [ples[PLES[i % 2]]["merchants"][i // 2]]]
    try:
        for proc in procs:
            await asyncio.to_thread(proc.start)
        await proxy.start()
        done, progress = asyncio.Event(), {"sent": 0}
        chaos = asyncio.create_task(faults(rng, workers, redis, pg, done, progress, ops, stats))
        async with httpx.AsyncClient(base_url=proxy_url, timeout=20) as client:
            lane = ForgedLane(client, ples, stats, forged_problems)
            forging = asyncio.create_task(lane.run(random.Random(seed_value + 1), max(3, ops // 30), done))
            await drive(operations, merchants, proxy_url, stats, progress)
            await forging
        done.set()
        await chaos
        stats["drive_seconds"] = round(time.monotonic() - started, 1)
        report = await run_checks({ple["id"]: ple["sandbox_url"] for ple in ples.values()}, drain_seconds)
    finally:
        await proxy.stop()
        hook.close()
        for proc in procs:
            proc.stop()
        mongo.terminate()
        redis.stop()
        pg.stop()
    report["problems"] = forged_problems + report["problems"]
    report["faults"] = stats
    report["operations"] = ops
    report["merchants"] = merchants_n
    report["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}{'-quick' if ops < 1000 else ''}-seed{seed_value}.json"
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    problems = report["problems"]
    verdict = "FAIL" if problems else "ok"
    gaps = len(report["known_gaps"])
    print(
        f"chaos: seed {seed_value}, {ops} operations, {len(problems)} problems, {gaps} known gateway gaps -> {verdict}",
        file=sys.stderr,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short CI run")
    parser.add_argument("--ops", type=int)
    parser.add_argument("--seed", type=int, help="replay a run's operations (default: a fresh seed, printed)")
    args = parser.parse_args()
    ops = args.ops or (300 if args.quick else 5000)
    seed_value = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    sys.exit(asyncio.run(main(seed_value, ops, 10 if args.quick else 50, 300 if args.quick else 480)))
