"""Everything the benchmark runs against, started here and stopped after: a PostgreSQL database
of its own (created and dropped), a private redis-server and an in-memory nx-27017 on free ports,
`gateway migrate`, the sandbox with --delay-seconds 0, each role under Granian as in production,
the ceiling app and the webhook receiver.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core import local_services as ls

LOGS = Path(".local/bench")
SANDBOX_SECRET = secrets.token_urlsafe(32)  # generated per run: a PLE secret never has a default


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_live(self, path: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                log = (LOGS / f"{self.name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited {self.popen.returncode}: {log}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {self.url}{path} within {seconds} s")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Stack:
    tag: str
    env: dict[str, str]
    database_url: str
    redis_port: int
    mongo_port: int
    procs: dict[str, Proc] = field(default_factory=dict)
    _redis: subprocess.Popen[bytes] | None = None
    _mongo: subprocess.Popen[bytes] | None = None

    def start(self, name: str, args: list[str], port: int, live: str | None = "/health/live") -> Proc:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{name}.log").open("wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", *args],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = Proc(name, popen, port)
        self.procs[name] = proc
        if live is not None:
            proc.wait_live(live)
        return proc

    def start_role(self, role: str) -> Proc:
        port = ls.free_port()
        return self.start(role, ["core", "serve", "--role", role, "--port", str(port), "--host", "127.0.0.1"], port)

    @property
    def mongo_pid(self) -> int:
        return self._mongo.pid if self._mongo is not None else 0

    @property
    def redis_pid(self) -> int:
        return self._redis.pid if self._redis is not None else 0

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        for popen in (self._mongo, self._redis):
            if popen is not None and popen.poll() is None:
                popen.terminate()
                popen.wait(timeout=10)
        asyncio.run(_drop_database(self.database_url))


async def _drop_database(url: str) -> None:
    import asyncpg

    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def start_services() -> Stack:
    """Stores of our own, migrated; the environment every role and this process will use."""
    os.chdir(Path(__file__).resolve().parent.parent)
    tag = secrets.token_hex(4)
    pg_base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    ls.ensure_postgres(pg_base + "/postgres")
    database_url = f"{pg_base}/gw_bench_{tag}"
    ls.ensure_database(database_url)
    if not shutil.which("redis-server"):
        ls._apt_install("redis-server")  # as core.local_services does; the server started here is our own
    redis_port, mongo_port = ls.free_port(), ls.free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    ls.wait_for("127.0.0.1", redis_port, "redis-server")
    mongo = ls.start_mongo(mongo_port, "memory")
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "MONGO_URL": f"mongodb://127.0.0.1:{mongo_port}/gw_bench_{tag}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SANDBOX_SECRET": SANDBOX_SECRET,
        "SANDBOX_DELAY_SECONDS": "0",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        # the per-key limit (100/s by default) would make this a benchmark of the 429 path;
        # the Lua token bucket still runs on every request
        "RATE_LIMIT_PER_SECOND": "1000000",
        "RATE_LIMIT_BURST": "1000000",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
    }
    os.environ.update(env)
    stack = Stack(tag, env, database_url, redis_port, mongo_port, _redis=redis, _mongo=mongo)
    try:
        subprocess.run([sys.executable, "-m", "core", "migrate"], check=True, capture_output=True, env=os.environ)
    except BaseException:
        stack.stop()
        raise
    return stack
