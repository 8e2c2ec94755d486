"""The scenarios (a)-(g) of issue 13 and (h) refunds, each against the stack bench.stack started.

Each HTTP scenario runs twice: at a fixed concurrency (closed loop: its maximum rate) and then
at a fixed arrival rate of half that maximum (open loop: the latency a server has at a load it
can carry). Merchants: 100 spread plus 1 hot, routed to a sandbox PLE and funded.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import deps, profiling
from bench.loadgen import closed_loop, open_loop
from bench.signing import Credentials, echo_body, payin_body, payout_body, refund_body, signed_request
from bench.stack import SANDBOX_SECRET, Stack
from bench.stats import pids_named, process_tree
from core.local_services import free_port

MERCHANT_FEES = {
    "payin": {"upi": {"percent_bps": 200, "fixed": 0}},
    "payout": {"imps": {"percent_bps": 0, "fixed": 500}},
}
FUNDING = 10**12
LEDGER_MERCHANTS = 1000
PROFILES = Path(".local/bench/profiles")


@dataclass
class Plan:
    seconds: float  # each closed-loop and each open-loop phase
    warmup: float  # an unmeasured closed-loop phase before each HTTP scenario
    concurrency: int
    worker_seconds: float
    ledger_seconds: float
    dep_seconds: float
    redis_requests: int


FULL = Plan(
    seconds=12, warmup=2, concurrency=32, worker_seconds=75, ledger_seconds=10, dep_seconds=8, redis_requests=200_000
)
QUICK = Plan(
    seconds=2, warmup=1, concurrency=16, worker_seconds=25, ledger_seconds=2, dep_seconds=2, redis_requests=20_000
)


@dataclass
class Context:
    stack: Stack
    plan: Plan
    spread: list[Credentials] = field(default_factory=list)
    hot: Credentials | None = None
    ceiling: Credentials | None = None
    payins: list[tuple[Credentials, str]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    profile: tuple[str, ...] = ()  # scenarios whose closed-loop phase py-spy records

    def watch(self) -> dict[str, list[int]]:
        """Process groups whose CPU each phase reports: where the machine's two cores went."""
        groups = {name: process_tree(p.popen.pid) for name, p in self.stack.procs.items()}
        groups["nx-27017"] = [self.stack.mongo_pid]
        groups["redis"] = [self.stack.redis_pid]
        groups["postgres"] = pids_named("postgres")
        return groups


def start_processes(stack: Stack) -> Credentials:
    """Receiver, sandbox (no delay), payment and api roles, ceiling app; the worker starts in (e)."""
    receiver_port = free_port()
    stack.start("receiver", ["bench.receiver", "--port", str(receiver_port)], receiver_port, live="/count")
    sandbox_port, payment_port = free_port(), free_port()
    stack.start(
        "sandbox",
        [
            *("core", "sandbox", "--port", str(sandbox_port), "--secret", SANDBOX_SECRET),
            *("--delay-seconds", "0", "--callback-url", f"http://127.0.0.1:{payment_port}/v1/callbacks/sandbox"),
        ],
        sandbox_port,
        live="/__sandbox/health",
    )
    stack.start(
        "payment",
        ["core", "serve", "--role", "payment", "--port", str(payment_port), "--host", "127.0.0.1"],
        payment_port,
    )
    stack.start_role("api")
    ceiling = Credentials("mer_ceiling", "key_ceiling", "sk_" + secrets.token_urlsafe(32))
    port = free_port()
    stack.start(
        "ceiling",
        ["bench.ceiling_app", "--port", str(port), "--key-id", ceiling.key_id, "--secret", ceiling.secret],
        port,
        live="/health",  # 404 answers: the server is up
    )
    return ceiling


async def seed(ctx: Context, res: Any) -> None:
    from core.ledger import adjust_merchant_balance
    from core.merchants.service import DIRECTION_METHODS, Actor, create_merchant
    from core.routing import create_ple, route_everything_to

    provider_fees = {d: {m: {"percent_bps": 50, "fixed": 0} for m in ms} for d, ms in DIRECTION_METHODS.items()}
    ple = await create_ple(
        res,
        provider="sandbox",
        name="Sandbox PLE (bench)",
        currency="INR",
        base_url=ctx.stack.procs["sandbox"].url,
        secret=SANDBOX_SECRET,
        fee_schedule=provider_fees,
        actor="bench",
    )
    webhook_url = ctx.stack.procs["receiver"].url + "/webhooks"

    async def merchant(name: str) -> Credentials:
        created = await create_merchant(
            res, name=name, actor=Actor("bench"), webhook_url=webhook_url, fee_plans=MERCHANT_FEES
        )
        merchant_id = created["merchant"]["id"]
        await route_everything_to(res, merchant_id, ple["id"], actor="bench")
        await adjust_merchant_balance(
            res.db, merchant_id, "INR", FUNDING, f"bench-fund-{merchant_id}", "benchmark funding"
        )
        return Credentials(merchant_id, created["key_id"], created["secret"])

    ctx.spread = [await merchant(f"Bench merchant {i}") for i in range(100)]
    ctx.hot = await merchant("Bench hot merchant")


def _host(ctx: Context, role: str) -> tuple[str, int, list[int]]:
    proc = ctx.stack.procs[role]
    return "127.0.0.1", proc.port, process_tree(proc.popen.pid)


async def http_scenario(
    ctx: Context, name: str, role: str, make: Any, expect: int, on_body: Any = None
) -> dict[str, Any]:
    """Closed loop at the plan's concurrency, then open loop at half the rate it reached."""
    host, port, pids = _host(ctx, role)
    plan, watch = ctx.plan, ctx.watch()
    # warm-up, not measured: pools connect lazily and the key cache starts empty
    await closed_loop(host, port, make("warm"), concurrency=plan.concurrency, seconds=plan.warmup, expect=expect)
    spy = None
    if name in ctx.profile:
        out = PROFILES / f"{name}-{role}.txt"
        spy = profiling.start(ctx.stack.procs[role].popen.pid, plan.seconds, out)
    closed = await closed_loop(
        host,
        port,
        make("closed"),
        concurrency=plan.concurrency,
        seconds=plan.seconds,
        expect=expect,
        on_body=on_body,
        server_pids=pids,
        watch=watch,
    )
    rate = max(1.0, round(closed.summary()["throughput"] / 2, 1))
    opened = await open_loop(
        host,
        port,
        make("open"),
        rate=rate,
        seconds=plan.seconds,
        expect=expect,
        on_body=on_body,
        server_pids=pids,
        watch=watch,
    )
    result = {"closed": closed.summary(), "open": opened.summary(), "concurrency": plan.concurrency}
    if spy is not None:
        await asyncio.to_thread(spy.wait)
        if out.exists():
            result["profile"] = profiling.summarize(out.read_text())
    ctx.results[name] = result
    print(f"  {name}: {result['closed']['throughput']}/s closed, p99 {result['open']['p99_ms']} ms at {rate}/s")
    closed_summary = result["closed"]
    print(
        f"     CPU (closed loop, cores): {closed_summary['cpu_share_by_process']},"
        f" generator {closed_summary['gen_cpu_share']}, foreign {closed_summary['foreign_cpu_cores']}"
    )
    return result


def _post_factory(ctx: Context, role: str, path: str, body: Any, creds_for: Any) -> Any:
    host = f"127.0.0.1:{ctx.stack.procs[role].port}"

    def make(phase: str) -> Any:
        run = f"{ctx.stack.tag}-{phase}-{path.strip('/').replace('/', '')}-{secrets.token_hex(2)}"
        return lambda n: signed_request(creds_for(n), "POST", path, host, body(n, run))

    return make


async def scenario_a(ctx: Context) -> None:
    ceiling = ctx.ceiling
    assert ceiling is not None
    make = _post_factory(ctx, "ceiling", "/v1/payins", payin_body, lambda n: ceiling)
    await http_scenario(ctx, "a", "ceiling", make, 201)


async def scenario_x(ctx: Context) -> None:
    """Signed POST /v1/echo on the api role: the whole security stack, no business (issue 19's floor)."""
    spread = ctx.spread
    make = _post_factory(ctx, "api", "/v1/echo", echo_body, lambda n: spread[n % len(spread)])
    await http_scenario(ctx, "x", "api", make, 200)


async def scenario_b(ctx: Context) -> None:
    spread = ctx.spread
    keep = 50_000

    def on_body(n: int, status: int, body: bytes) -> None:
        if len(ctx.payins) < keep:
            ctx.payins.append((spread[n % len(spread)], orjson.loads(body)["id"]))

    make = _post_factory(ctx, "payment", "/v1/payins", payin_body, lambda n: spread[n % len(spread)])
    await http_scenario(ctx, "b", "payment", make, 201, on_body)


async def scenario_c(ctx: Context) -> None:
    spread, hot = ctx.spread, ctx.hot
    await http_scenario(
        ctx, "c", "payment", _post_factory(ctx, "payment", "/v1/payouts", payout_body, lambda n: spread[n % 100]), 201
    )
    await http_scenario(
        ctx, "c_hot", "payment", _post_factory(ctx, "payment", "/v1/payouts", payout_body, lambda n: hot), 201
    )


async def scenario_d(ctx: Context) -> None:
    host = f"127.0.0.1:{ctx.stack.procs['payment'].port}"
    payins = ctx.payins

    def make(phase: str) -> Any:
        def request(n: int) -> bytes:
            creds, payin_id = payins[n % len(payins)]
            path = f"/v1/payins/{payin_id}"
            if n >= len(payins):  # a second pass: an unused query keeps each signed request unique
                path += f"?bench={phase}{n}"
            return signed_request(creds, "GET", path, host)

        return request

    await http_scenario(ctx, "d", "payment", make, 200)


async def scenario_h(ctx: Context, res: Any) -> None:
    """Partial refunds (POST /v1/refunds) of the payins (b) created and the worker (e) settled:
    1.00 each, spread over the payins, so each payin's refund-guard row is rarely contended."""
    ids = [payin_id for _, payin_id in ctx.payins[:5_000]]
    found = await res.mongo.db.payins.find({"_id": {"$in": ids}, "status": "succeeded"}, {"_id": 1}).to_list(None)
    succeeded = {d["_id"] for d in found}
    paid = [(creds, payin_id) for creds, payin_id in ctx.payins[:5_000] if payin_id in succeeded]
    if not paid:
        ctx.results["h"] = {"skipped": "no succeeded payin: run (b) and (e) first"}
        print("  h: skipped, no succeeded payin")
        return
    host = f"127.0.0.1:{ctx.stack.procs['payment'].port}"

    def make(phase: str) -> Any:
        run = f"{ctx.stack.tag}-{phase}-{secrets.token_hex(2)}"

        def request(n: int) -> bytes:
            creds, payin_id = paid[n % len(paid)]
            return signed_request(creds, "POST", "/v1/refunds", host, refund_body(payin_id, n, run))

        return request

    await http_scenario(ctx, "h", "payment", make, 201)


async def scenario_e(ctx: Context, res: Any) -> None:
    """Start the worker on the backlog (b) and (c) left (a stored callback per payin and payout)
    and measure how fast it processes callbacks and delivers webhooks to the local receiver."""
    callbacks = res.mongo.db.provider_callbacks
    receiver = ctx.stack.procs["receiver"].url + "/count"
    async with httpx.AsyncClient() as http:

        async def counts() -> tuple[float, int, int]:
            processed = await callbacks.count_documents({"status": "processed"})
            delivered = int((await http.get(receiver)).text)
            return time.perf_counter(), processed, delivered

        backlog = await callbacks.count_documents({"status": "received"})
        await asyncio.to_thread(ctx.stack.start_role, "worker")
        worker_pids = process_tree(ctx.stack.procs["worker"].popen.pid)
        from bench.stats import tree_cpu_seconds

        samples = [await counts()]
        cpu0 = tree_cpu_seconds(worker_pids)
        # saq takes jobs in order: webhooks queue behind the callback backlog, so run until the
        # backlog is processed and deliveries went quiet for 2 s (or the plan's cap)
        started = time.perf_counter()
        deadline = started + ctx.plan.worker_seconds
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.25)
            samples.append(await counts())
            quiet = [x for x in samples if x[0] >= samples[-1][0] - 2.0]
            drained = samples[-1][1] - samples[0][1] >= backlog
            if drained and samples[-1][2] > samples[0][2] and quiet[0][2] == samples[-1][2]:
                break
        cpu = tree_cpu_seconds(worker_pids) - cpu0
    ctx.results["e"] = {
        "backlog_callbacks": backlog,
        "callbacks_per_second": active_rate([(t, p) for t, p, _ in samples]),
        "webhooks_per_second": active_rate([(t, d) for t, _, d in samples]),
        "callbacks_processed": samples[-1][1] - samples[0][1],
        "webhooks_delivered": samples[-1][2] - samples[0][2],
        "worker_cpu_share": round(cpu / (samples[-1][0] - samples[0][0]), 3),
        "seconds": round(samples[-1][0] - samples[0][0], 1),
    }
    print(f"  e: {ctx.results['e']}")


def active_rate(samples: list[tuple[float, int]]) -> float:
    """Rate between the first and the last sample where the count moved: a worker that starts
    late or drains its backlog early is not charged for the idle time."""
    moved = [i for i in range(1, len(samples)) if samples[i][1] != samples[i - 1][1]]
    if not moved:
        return 0.0
    first, last = moved[0] - 1, moved[-1]
    span = samples[last][0] - samples[first][0]
    return round((samples[last][1] - samples[first][1]) / span, 1) if span > 0 else 0.0


async def scenario_f(ctx: Context, res: Any) -> None:
    """Ledger postings per second through core.ledger (hold_payout_funds: available -> reserved),
    over 1,000 funded merchants and on one, beside pgbench -N on the same server."""
    from core.ledger import adjust_merchant_balance

    merchants = [f"mer_bench_ledger_{i:04d}" for i in range(LEDGER_MERCHANTS)]
    funding = asyncio.Semaphore(8)

    async def fund(merchant_id: str) -> None:
        async with funding:
            await adjust_merchant_balance(res.db, merchant_id, "INR", FUNDING, "fund", "benchmark funding")

    await asyncio.gather(*(fund(m) for m in merchants))
    watch = {"postgres": pids_named("postgres")}
    for name, pick in (("f_spread", lambda n: merchants[n % len(merchants)]), ("f_hot", lambda n: merchants[0])):
        ctx.results[name] = await ledger_load(
            res.db, pick, ctx.plan.ledger_seconds, concurrency=10, run=name, watch=watch
        )
        print(f"  {name}: {ctx.results[name]['throughput']}/s")


async def ledger_load(
    db: Any, pick: Any, seconds: float, concurrency: int, run: str, watch: dict[str, list[int]]
) -> dict[str, Any]:
    from bench.stats import PhaseResult, cpu_delta, cpu_snapshot, machine_busy_seconds, own_cpu_seconds
    from core.ledger import hold_payout_funds

    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = 0

    async def poster() -> None:
        nonlocal counter
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            counter += 1
            n = counter
            started = time.perf_counter()
            try:
                await hold_payout_funds(db, f"po_bench_{run}_{n}", pick(n), "INR", 1_000, 500)
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # counted, not raised: the table shows errors
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    cpu0, watched0, busy0, t0 = own_cpu_seconds(), cpu_snapshot(watch), machine_busy_seconds(), time.perf_counter()
    await asyncio.gather(*(poster() for _ in range(concurrency)))
    phase = PhaseResult(
        elapsed=time.perf_counter() - t0,
        latencies=latencies,
        gen_cpu_seconds=own_cpu_seconds() - cpu0,
        cpu_by_process=cpu_delta(watched0, cpu_snapshot(watch)),
        machine_cpu_seconds=machine_busy_seconds() - busy0,
    )
    phase.errors.update(errors)
    return {**phase.summary(), "concurrency": concurrency}


async def scenario_g(ctx: Context, res: Any) -> None:
    from core.security.verify import _SCRIPT

    stack, plan = ctx.stack, ctx.plan
    sha = await res.redis.script_load(_SCRIPT)
    await res.redis.set("gw:bench:key", "x")
    # both tools ship with the servers' Debian packages (redis-tools, postgresql-client-common);
    # a machine without them still gets every other number
    redis: dict[str, Any] = {"missing": "redis-benchmark"}
    if shutil.which("redis-benchmark"):
        redis = await asyncio.to_thread(deps.redis_benchmarks, stack.redis_port, plan.redis_requests, sha)
    mongo = await deps.mongo_inserts(
        os.environ["MONGO_URL"], stack.env["MONGO_URL"].rsplit("/", 1)[1], plan.dep_seconds
    )
    pgbench: dict[str, Any] = {"tps": None, "missing": "pgbench"}
    if shutil.which("pgbench"):
        await asyncio.to_thread(deps.pgbench_init, stack.database_url)
        pgbench = await asyncio.to_thread(deps.pgbench_simple_update, stack.database_url, plan.dep_seconds)
    ctx.results["g"] = {"redis": redis, "mongo_insert": mongo, "pgbench_n": pgbench}
    print(f"  g: redis {redis}, mongo {mongo['throughput']}/s, pgbench -N {pgbench['tps']} tps")
