"""`python -m bench [--quick] [--only a,b,...] [--no-write]`: run the scenarios, write
bench/results/<date>.json and the table between the markers of docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:table:begin -->", "<!-- bench:table:end -->"
ALL = ("a", "x", "b", "c", "d", "e", "f", "g", "h", "cli")


def _machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.machine())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return found.stdout.strip() or "unknown"


async def _run(stack: Any, ceiling: Any, plan: Any, only: tuple[str, ...], profile: tuple[str, ...]) -> dict[str, Any]:
    from bench import scenarios as s
    from bench.stats import process_tree, rss_mb
    from core.config import load_settings
    from core.resources import open_resources

    ctx = s.Context(stack=stack, plan=plan, ceiling=ceiling, profile=profile)
    if "cli" in only:  # the CLI's start-up against this stack's stores, first: before any load (issue 19)
        from bench.cli_timing import measure_cli

        print("timing the gateway CLI", file=sys.stderr)
        ctx.results["cli"] = await asyncio.to_thread(measure_cli, {**os.environ, **stack.env})
    async with open_resources(load_settings(), pool_size=12) as res:
        print("seeding 101 merchants", file=sys.stderr)
        await s.seed(ctx, res)
        if "a" in only:
            await s.scenario_a(ctx)
        if "x" in only:
            await s.scenario_x(ctx)
        if "b" in only or "d" in only or "h" in only:
            await s.scenario_b(ctx)
        if "c" in only:
            await s.scenario_c(ctx)
        if "d" in only:
            await s.scenario_d(ctx)
        if "e" in only or "h" in only:  # (h) refunds the payins the worker settled
            await s.scenario_e(ctx, res)
        if "h" in only:
            await s.scenario_h(ctx, res)
        if "f" in only:
            await s.scenario_f(ctx, res)
        if "g" in only:
            await s.scenario_g(ctx, res)

    ctx.results["rss_mb"] = {}
    for role in ("payment", "api", "worker"):
        proc = stack.procs.get(role)
        if proc is not None:
            sizes = [rss_mb(pid) for pid in process_tree(proc.popen.pid)]
            ctx.results["rss_mb"][role] = {"total": round(sum(sizes), 1), "processes": [round(x, 1) for x in sizes]}
    return ctx.results


def write_doc(table: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds per scenario (CI); no speed claims")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated scenarios, e.g. a,b,d")
    parser.add_argument("--seconds", type=float, help="override the length of each HTTP phase")
    parser.add_argument("--profile", default="", help="scenarios to record with py-spy (via uvx), e.g. b,c")
    parser.add_argument("--no-write", action="store_true", help="print the table; write no files")
    args = parser.parse_args(argv)
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())

    from bench import report
    from bench.scenarios import FULL, QUICK, start_processes
    from bench.stack import start_services

    plan = QUICK if args.quick else FULL
    if args.seconds:
        plan = dataclasses.replace(plan, seconds=args.seconds)
    started = time.monotonic()
    load_before = os.getloadavg()
    stack = start_services()
    try:
        ceiling = start_processes(stack)
        profile = tuple(x.strip() for x in args.profile.split(",") if x.strip())
        # uvloop, as the roles run: (f) posts through core.ledger in this process
        results = uvloop.run(_run(stack, ceiling, plan, only, profile))
    finally:
        stack.stop()
    today = dt.datetime.now(dt.UTC)
    run = {
        "date": today.strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": _machine(),
        "commit": _commit(),
        "command": "uv run python -m bench" + (" --quick" if args.quick else ""),
        "plan": plan.__dict__,
        "wall_seconds": round(time.monotonic() - started, 1),
        # other work on the machine skews every number: recorded so a reader can tell
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    run["evaluation"] = report.evaluate(results)
    table = report.markdown(run)
    print(table)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = today.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
        (RESULTS / f"{name}.json").write_bytes(orjson.dumps(run, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        if not args.quick:
            write_doc(table)
        print(f"wrote bench/results/{name}.json" + ("" if args.quick else " and docs/performance.md"))
    print(f"wall time {run['wall_seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
