"""`python -m chaos [--quick]`: drive mixed payins and payouts through real processes while
workers are SIGKILLed, Redis and PostgreSQL restart, and the sandbox fails, drops and delays;
then let it drain and check every invariant (docs/reliability.md). Exit 1 on any violation."""

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
from chaos.procs import PrivatePostgres, PrivateRedis, gateway
from chaos.proxy import RoundRobinProxy
from core.local_services import free_port, start_mongo
from core.signing import sign_request

SECRET = secrets.token_urlsafe(32)  # generated per run: a PLE secret never has a default
OUTCOMES = [0] * 14 + [51, 52, 53, 54, 55, 56]  # mostly paid, every special row present
RESULTS = Path("chaos/results")


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


async def seed(merchants: int, sandbox_url: str, hook_url: str) -> list[dict[str, str]]:
    from core.config import load_settings
    from core.ids import new_id
    from core.ledger import adjust_merchant_balance
    from core.merchants.service import Actor, create_merchant
    from core.resources import open_resources
    from core.routing import create_ple, route_everything_to

    settings = load_settings()
    out = []
    async with open_resources(settings, pool_size=4) as res:
        plan = {"percent_bps": 50, "fixed": 0}
        schedule = {"payin": {"upi": plan}, "payout": {"imps": plan}}
        ple = await create_ple(
            res,
            provider="sandbox",
            name="chaos",
            currency="INR",
            base_url=sandbox_url,
            secret=SECRET,
            fee_schedule=schedule,
            actor="chaos",
        )
        fees = {
            "payin": {"upi": {"percent_bps": 200, "fixed": 0}},
            "payout": {"imps": {"percent_bps": 0, "fixed": 500}},
        }
        for i in range(merchants):
            created = await create_merchant(
                res, name=f"chaos {i}", actor=Actor("chaos"), webhook_url=hook_url, fee_plans=fees
            )
            mid = created["merchant"]["id"]
            await route_everything_to(res, mid, ple["id"], actor="chaos")
            await adjust_merchant_balance(res.db, mid, "INR", 100_000_000, new_id("fund"), "chaos funding")
            out.append({"merchant_id": mid, "key_id": created["key_id"], "secret": created["secret"]})
    return out


async def one_operation(client: httpx.AsyncClient, merchant: dict[str, str], n: int, stats: dict[str, Any]) -> None:
    """A merchant's request, retried with the same Idempotency-Key on connection errors and 5xx."""
    outcome = random.choice(OUTCOMES)
    amount = random.randint(10, 90) * 100 + outcome
    if random.random() < 0.6:
        path, body = (
            "/v1/payins",
            {
                "amount": amount,
                "currency": "INR",
                "reference": f"c{n}",
                "method": "upi",
                "customer": {"name": "Chaos", "email": "c@example.com"},
                "expires_in_minutes": 1,
            },
        )
    else:
        path, body = (
            "/v1/payouts",
            {
                "amount": amount,
                "currency": "INR",
                "reference": f"c{n}",
                "mode": "imps",
                "beneficiary": {"name": "B", "account_number": "123456789012", "ifsc": "HDFC0001234"},
            },
        )
    raw = orjson.dumps(body)
    for attempt in range(8):
        headers = sign_request(merchant["key_id"], merchant["secret"], "POST", path, raw)
        headers.update({"content-type": "application/json", "Idempotency-Key": f"chaos-{n}"})
        try:
            response = await client.post(path, content=raw, headers=headers)
        except httpx.TransportError:
            stats["connection_errors"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        code = response.status_code
        if code in (409, 401) and attempt > 0:  # in flight elsewhere, or a same-second resend: wait, resend
            await asyncio.sleep(1.1)
            if response.json()["error"]["code"] == "duplicate_reference":
                stats["answers"]["409"] = stats["answers"].get("409", 0) + 1
                return
            continue
        if code >= 500 and code != 502:
            stats["server_errors"] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
            continue
        stats["answers"][str(code)] = stats["answers"].get(str(code), 0) + 1
        return
    stats["gave_up"] += 1


async def faults(
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
        victim = random.choice(workers)
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


async def drive(
    ops: int, merchants: list[dict[str, str]], base_url: str, stats: dict[str, Any], progress: dict[str, int]
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(ops):
        queue.put_nowait(n)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:

        async def lane() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                await one_operation(client, random.choice(merchants), n, stats)
                progress["sent"] += 1

        await asyncio.gather(*[lane() for _ in range(16)])


async def main(ops: int, merchants_n: int, drain_seconds: int) -> int:
    started = time.monotonic()
    pg, redis = PrivatePostgres(), PrivateRedis()
    pg.start()
    redis.start()
    mongo_port = free_port()
    mongo = start_mongo(mongo_port, "memory")
    ports = {name: free_port() for name in ("sandbox", "proxy", "p0", "p1", "w0", "w1", "hook")}
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
        "SANDBOX_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "core", "migrate"], check=True, capture_output=True)
    sandbox = gateway(
        "sandbox",
        [
            "sandbox",
            "--port",
            str(ports["sandbox"]),
            "--secret",
            SECRET,
            "--callback-url",
            f"http://127.0.0.1:{ports['proxy']}/v1/callbacks/sandbox",
            "--delay-seconds",
            "1",
            "--error-rate",
            "0.1",
            "--drop-callback-rate",
            "0.2",
            "--latency-ms",
            "20",
        ],
        env,
        ports["sandbox"],
    )
    payments = [
        gateway(f"payment-{i}", ["serve", "--role", "payment", "--port", str(ports[f"p{i}"])], env, ports[f"p{i}"])
        for i in range(2)
    ]
    workers = [
        gateway(f"worker-{i}", ["serve", "--role", "worker", "--port", str(ports[f"w{i}"])], env, ports[f"w{i}"])
        for i in range(2)
    ]
    procs = [sandbox, *payments, *workers]
    proxy = RoundRobinProxy(ports["proxy"], [ports["p0"], ports["p1"]])
    hook = await webhook_receiver(ports["hook"])
    stats: dict[str, Any] = {
        "answers": {},
        "connection_errors": 0,
        "server_errors": 0,
        "gave_up": 0,
        "worker_kills": 0,
        "redis_restarts": 0,
        "postgres_restarts": 0,
    }
    try:
        for proc in procs:
            await asyncio.to_thread(proc.start)
        await proxy.start()
        merchants = await seed(
            merchants_n, f"http://127.0.0.1:{ports['sandbox']}", f"http://127.0.0.1:{ports['hook']}/hook"
        )
        done, progress = asyncio.Event(), {"sent": 0}
        chaos = asyncio.create_task(faults(workers, redis, pg, done, progress, ops, stats))
        await drive(ops, merchants, f"http://127.0.0.1:{ports['proxy']}", stats, progress)
        done.set()
        await chaos
        stats["drive_seconds"] = round(time.monotonic() - started, 1)
        report = await run_checks(f"http://127.0.0.1:{ports['sandbox']}", drain_seconds)
    finally:
        await proxy.stop()
        hook.close()
        for proc in procs:
            proc.stop()
        mongo.terminate()
        redis.stop()
        pg.stop()
    report["faults"] = stats
    report["operations"] = ops
    report["merchants"] = merchants_n
    report["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}{'-quick' if ops < 1000 else ''}.json"
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    problems = report["problems"]
    print(f"chaos: {ops} operations, {len(problems)} problems -> {'FAIL' if problems else 'ok'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short CI run")
    parser.add_argument("--ops", type=int)
    args = parser.parse_args()
    ops = args.ops or (300 if args.quick else 5000)
    sys.exit(asyncio.run(main(ops, 10 if args.quick else 50, 300 if args.quick else 480)))
