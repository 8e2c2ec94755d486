"""Ratios, targets and the Markdown table of one run (issue 13's targets: reported, not asserted)."""

from __future__ import annotations

from typing import Any

RSS_LIMIT_MB = 150.0
HTTP_ROWS = [
    ("a", "(a) ceiling: bare Litestar + HMAC"),
    ("x", "(x) POST /v1/echo: signed, no business (api)"),
    ("b", "(b) POST /v1/payins"),
    ("c", "(c) POST /v1/payouts, 100 merchants"),
    ("c_hot", "(c-hot) POST /v1/payouts, 1 merchant"),
    ("d", "(d) GET /v1/payins/{id}"),
    ("h", "(h) POST /v1/refunds, partial, spread over payins"),
]


def _rate(results: dict[str, Any], name: str) -> float:
    return float(results.get(name, {}).get("closed", {}).get("throughput") or 0.0)


def _cpu_ms(phase: dict[str, Any]) -> float:
    """CPU milliseconds the serving role spent per successful request in a phase."""
    rate = float(phase.get("throughput") or 0.0)
    return 1000 * float(phase.get("server_cpu_share") or 0.0) / rate if rate else 0.0


def _ratio(x: float, y: float) -> float | None:
    return round(x / y, 3) if y else None


def evaluate(results: dict[str, Any]) -> dict[str, Any]:
    """Ratios to (a), pgbench and the dependency ceilings, and each target with its verdict."""
    g = results.get("g", {})
    pgbench = float(g.get("pgbench_n", {}).get("tps") or 0.0)
    redis = g.get("redis", {})
    mongo = float(g.get("mongo_insert", {}).get("throughput") or 0.0)
    evalsha = float(redis.get("evalsha_verify") or 0)
    ceilings = {"mongo_insert": mongo, "redis_evalsha": evalsha, "pgbench_n": pgbench}
    touched = {k: v for k, v in ceilings.items() if v > 0}
    slowest_name = min(touched, key=touched.__getitem__) if touched else None
    slowest = touched.get(slowest_name, 0.0) if slowest_name else 0.0
    a = _rate(results, "a")
    ratios = {
        name: {
            "to_a": _ratio(_rate(results, name), a),
            "to_pgbench": _ratio(_rate(results, name), pgbench),
            "to_slowest_dependency": _ratio(_rate(results, name), slowest),
            "cpu_to_echo": _ratio(
                _cpu_ms(results.get(name, {}).get("closed", {})), _cpu_ms(results.get("x", {}).get("closed", {}))
            ),
        }
        for name, _ in HTTP_ROWS
    }
    for name in ("f_spread", "f_hot"):
        rate = float(results.get(name, {}).get("throughput") or 0.0)
        ratios[name] = {"to_pgbench": _ratio(rate, pgbench)}
    targets: list[dict[str, Any]] = []

    def target(what: str, ok: bool | None, measured: str, why_if_missed: str = "") -> None:
        targets.append({"target": what, "met": ok, "measured": measured, "reason": "" if ok else why_if_missed})

    cpu = {name: _cpu_ms(results.get(name, {}).get("closed", {})) for name, _ in HTTP_ROWS}
    rates = {name: _rate(results, name) for name, _ in HTTP_ROWS}

    def cpu_target(name: str, what: str, limit: float, base: str, cause: str) -> None:
        mine, ref = cpu[name], cpu[base]
        ok = mine <= limit * ref if mine and ref else None
        shown = f"{mine:.2f} ms vs {ref:.2f} ms = {mine / ref:.1f}x" if mine and ref else "n/a"
        target(what, ok, shown, cause)

    def rate_target(name: str, what: str, share: float, cause: str) -> None:
        mine, ref = rates[name], rates["x"]
        ok = mine >= share * ref if mine and ref else None
        target(what, ok, f"{mine:.0f}/s vs {ref:.0f}/s = {100 * mine / ref:.1f} %" if mine and ref else "n/a", cause)

    cpu_target(
        "x",
        "(x) echo role CPU <= 2 x the ceiling (a)",
        2,
        "a",
        "beyond the ceiling's HMAC, echo pays the replay/rate-limit script (a Redis round trip through redis-py),"
        " a JSON log line, request-id/trace/metrics/auth/idempotency/body-limit middleware and msgspec decoding",
    )
    cpu_target(
        "b",
        "(b) payin role CPU <= 3 x echo's (its callback included)",
        3,
        "x",
        "a payin is ~9 round trips through Python drivers in the role (route SELECT, Mongo insert and update,"
        " the provider call, the expiry job and trace origin in Redis; then the callback: PLE check, Mongo"
        " find and insert, its job), each costing 0.2-0.5 ms of driver CPU (pymongo most)",
    )
    rate_target("b", "(b) payin rate >= 25 % of echo's", 0.25, "bound by the role's CPU per payin (above)")
    b_open = results.get("b", {}).get("open", {})
    p99 = float(b_open.get("p99_ms") or 0.0)
    target(
        "(b) p99 <= 50 ms at half of (b)'s max rate",
        p99 <= 50 if b_open else None,
        f"p99 {p99:.1f} ms at {b_open.get('offered_rate')}/s",
        f"queueing behind other work ({float(b_open.get('foreign_cpu_cores') or 0):.2f} cores of foreign load)"
        " plus the provider callbacks the same role receives",
    )
    b_errors = sum(int(results.get("b", {}).get(p, {}).get("errors", 0)) for p in ("closed", "open"))
    target("(b) zero errors", b_errors == 0, f"{b_errors} errors", "see error_kinds in the JSON")
    cpu_target(
        "c",
        "(c) payout role CPU <= 4 x echo's",
        4,
        "x",
        "a payout adds to a payin's path the duplicate-reference find, the hold (one ledger statement),"
        " an audit append (its key and tip reads, the insert, the anchor) and the submission's Mongo writes",
    )
    rate_target("c", "(c) payout rate >= 15 % of echo's", 0.15, "bound by the role's CPU per payout (above)")
    c, c_hot = rates["c"], rates["c_hot"]
    target(
        "(c-hot) >= 50 % of (c)",
        c_hot >= 0.5 * c if c else None,
        f"{c_hot:.0f}/s vs {c:.0f}/s = {100 * c_hot / c:.0f} %" if c else "n/a",
        "one merchant's available row is locked by every hold: holds serialise on it",
    )
    cpu_target(
        "d",
        "(d) GET role CPU <= 1.5 x echo's",
        1.5,
        "x",
        "a GET adds a Mongo find_one through pymongo and the answer's encoding to echo's work",
    )
    e = results.get("e", {})
    causes = {
        "callbacks_per_second": "a callback is ~30 store round trips (tests/integration/test_callback_round_trips.py):"
        " the transition (Mongo CAS), two ledger statements, an event, a delivery, an audit append, at ~10 ms of"
        " worker CPU; nx-27017 (Python) takes ~0.5 core beside it on the same 2 cores",
        "webhooks_per_second": "in (e) each delivery waits for the callback that makes its event, so deliveries"
        " follow the callback rate; on their own queue, deliveries alone reached 228/s (docs/performance.md)",
    }
    for key, what in (("callbacks_per_second", "callbacks"), ("webhooks_per_second", "webhook deliveries")):
        value = float(e.get(key) or 0.0)
        target(
            f"(e) worker >= 200 {what}/s per process",
            value >= 200 if e else None,
            f"{value:.1f}/s" if e else "n/a",
            causes[key],
        )
    f_spread = float(results.get("f_spread", {}).get("throughput") or 0.0)
    f_hot = float(results.get("f_hot", {}).get("throughput") or 0.0)
    for name, value, share in (("f-spread", f_spread, 0.5), ("f-hot", f_hot, 0.25)):
        target(
            f"({name}) >= {100 * share:.0f} % of pgbench -N",
            value >= share * pgbench if pgbench and value else None,
            f"{value:.0f}/s vs {pgbench:.0f} tps = {100 * value / pgbench:.0f} %" if pgbench and value else "n/a",
            "a posting is one statement (lock, check, insert, update) from asyncpg, but the benchmark's own"
            " Python client (core.ledger in this process) spends more CPU per posting than pgbench's C client"
            + ("; one merchant's row serialises every posting by design" if name == "f-hot" else ""),
        )
    for role, rss in results.get("rss_mb", {}).items():
        total = float(rss["total"])
        target(
            f"{role} RSS <= {RSS_LIMIT_MB:.0f} MB",
            total <= RSS_LIMIT_MB,
            f"{total:.0f} MB (processes: {', '.join(f'{v:.0f}' for v in rss['processes'])})",
            "see the processes: Granian's supervisor and the serving worker each hold the Python runtime",
        )
    cli = results.get("cli", {})
    for key, what, limit in (
        ("help_seconds", "`gateway --help`", 0.3),
        ("invoke_ready_seconds", "`gateway invoke health.ready`", 1.5),
    ):
        value = cli.get(key)
        target(
            f"{what} <= {limit} s",
            float(value) <= limit if value is not None else None,
            f"{float(value):.2f} s" if value is not None else "n/a",
            "interpreter start and imports (python -X importtime shows which)",
        )
    return {"ceilings": ceilings, "slowest_dependency": slowest_name, "ratios": ratios, "targets": targets}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def markdown(run: dict[str, Any]) -> str:
    results, ev = run["results"], run["evaluation"]
    out = [
        f"Run {run['date']} ({'quick' if run['quick'] else 'full'}), {run['machine']}; "
        f"commit {run['commit']}; `{run['command']}`. Load average before/after the run: "
        f"{run.get('loadavg_before', ['?'])[0]} / {run.get('loadavg_after', ['?'])[0]} "
        "(other work on the machine shows as *foreign CPU*, in cores).",
        "",
        "| scenario | conc. | max rate /s | errors | p50 / p95 / p99 ms (closed) | open-loop rate /s "
        "| p50 / p95 / p99 ms (open) | errors (open) | to (a) | to slowest dep. | gen CPU "
        "| role CPU (per request) | CPU to (x) | foreign CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in HTTP_ROWS:
        r = results.get(name)
        if not r:
            continue
        c, o = r["closed"], r["open"]
        out.append(
            f"| {label} | {r['concurrency']} | {_fmt(c['throughput'])} | {c['errors']} "
            f"| {c['p50_ms']} / {c['p95_ms']} / {c['p99_ms']} | {_fmt(o['offered_rate'])} "
            f"| {o['p50_ms']} / {o['p95_ms']} / {o['p99_ms']} | {o['errors']} "
            f"| {_fmt(ev['ratios'][name]['to_a'])} | {_fmt(ev['ratios'][name]['to_slowest_dependency'])} "
            f"| {c['gen_cpu_share']:.0%} | {c['server_cpu_share']:.0%} ({_cpu_ms(c):.2f} ms) "
            f"| {_fmt(ev['ratios'][name].get('cpu_to_echo'))} | {c.get('foreign_cpu_cores', 0):.2f} cores |"
        )
    out += ["", "| worker (e) | value |", "|---|---|"]
    e = results.get("e", {})
    for key in ("backlog_callbacks", "callbacks_per_second", "webhooks_per_second", "worker_cpu_share"):
        out.append(f"| {key.replace('_', ' ')} | {_fmt(e.get(key))} |")
    out += ["", "| ledger (f) | postings /s | p50 / p99 ms | errors | to pgbench -N |", "|---|---|---|---|---|"]
    for name in ("f_spread", "f_hot"):
        r = results.get(name)
        if r:
            out.append(
                f"| {name.replace('_', '-')} | {_fmt(r['throughput'])} | {r['p50_ms']} / {r['p99_ms']} "
                f"| {r['errors']} | {_fmt(ev['ratios'][name]['to_pgbench'])} |"
            )
    g = results.get("g", {})
    out += ["", "| dependency ceiling (g) | ops /s |", "|---|---|"]
    for key, value in g.get("redis", {}).items():
        if key == "missing":
            out.append(f"| {value} | not installed |")
            continue
        out.append(f"| redis-benchmark {key} (50 clients) | {_fmt(value)} |")
    if "mongo_insert" in g:
        out.append(f"| nx-27017 insert_one, AsyncMongoClient (32 tasks) | {_fmt(g['mongo_insert']['throughput'])} |")
    if "pgbench_n" in g:
        out.append(f"| pgbench -N (10 clients) | {_fmt(g['pgbench_n'].get('tps'))} |")
    cli = results.get("cli")
    if cli:
        out += ["", "| CLI start (median, wall) | seconds |", "|---|---|"]
        out.append(f"| `gateway --help` | {cli['help_seconds']} |")
        out.append(f"| `gateway invoke health.ready` | {cli['invoke_ready_seconds']} |")
    out += ["", "| target | met | measured | why missed |", "|---|---|---|---|"]
    for t in ev["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        out.append(f"| {t['target']} | {met} | {t['measured']} | {t['reason']} |")
    return "\n".join(out) + "\n"
