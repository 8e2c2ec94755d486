"""Test session wiring: real PostgreSQL, Redis and nx-27017, private to this session.

Each session gets its own PostgreSQL database, its own Redis logical database and its own
in-memory nx-27017 process, so runs never see each other's data. The environment is set in
`pytest_configure`, before any module reads settings, so every in-process app and every role
started as a subprocess by the tests talks to the same private stores.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_state: dict[str, object] = {}

TEST_ENV = {
    "ENVIRONMENT": "test",
    "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    "WEBHOOK_RETRY_SCHEDULE": "1,2,3",
    "PAYOUT_POLL_INITIAL_DELAY_SECONDS": "1",
    "PAYOUT_POLL_MAX_ATTEMPTS": "3",
    "SANDBOX_DELAY_SECONDS": "0.3",
    "PAYIN_EXPIRY_UNIT_SECONDS": "1",
    "LOG_LEVEL": "INFO",
}


def _claim_redis_db(base: str) -> str:
    import redis

    for index in range(1, 16):
        client = redis.Redis.from_url(f"{base}/{index}")
        if client.set("gw:test:claimed", "1", nx=True, ex=6 * 3600) and client.dbsize() == 1:
            return f"{base}/{index}"
    raise RuntimeError("no free Redis logical database (1-15) for this test session")


def _dump_tasks(signum: int, frame: object) -> None:
    """`kill -USR1 <pytest pid>`: every asyncio task's stack on stderr, for a test that hangs
    with its event loop idle (the main thread's stack then only shows the loop waiting)."""
    import traceback

    traceback.print_stack(frame, file=sys.stderr)  # type: ignore[arg-type]
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for task in asyncio.all_tasks(loop):
        print(f"--- {task!r}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or _state:
        return
    import signal

    signal.signal(signal.SIGUSR1, _dump_tasks)
    os.chdir(ROOT)
    from core import local_services as ls

    pg_base = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    redis_base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
    ls.ensure_postgres(pg_base + "/postgres")
    ls.ensure_redis(redis_base)
    tag = secrets.token_hex(4)
    mongo_port = ls.free_port()
    _state["mongo"] = ls.start_mongo(mongo_port, "memory")
    database_url = f"{pg_base}/gw_test_{tag}"
    ls.ensure_database(database_url)
    env = {
        **TEST_ENV,
        "DATABASE_URL": database_url,
        "MONGO_URL": f"mongodb://127.0.0.1:{mongo_port}/gw_test_{tag}",
        "REDIS_URL": _claim_redis_db(redis_base),
    }
    os.environ.update(env)
    _state["env"] = env
    _state["database_url"] = database_url
    subprocess.run([sys.executable, "-m", "core", "migrate"], check=True, capture_output=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _state:
        return
    import asyncpg
    import redis

    proc = _state.get("mongo")
    if isinstance(proc, subprocess.Popen):
        proc.terminate()
        proc.wait(timeout=10)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    url = str(_state["database_url"])
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


pytest_plugins = [
    "tests.fixtures.apps",
    "tests.fixtures.processes",
    "tests.fixtures.merchants",
    "tests.fixtures.stack",
    "tests.fixtures.tracing",
]


class _Tee:
    """Log lines to stdout (pytest captures them) and to a file the secret scan reads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a")

    def write(self, text: str) -> int:
        sys.stdout.write(text)
        self.file.write(text)
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()
        self.file.flush()


IN_PROCESS_LOG = ROOT / "test-artifacts" / "logs" / "in-process.log"


@pytest.fixture(scope="session", autouse=True)
def json_logs() -> None:
    """In-process apps log exactly as the serving roles do: JSON lines with context."""
    from core.observability.logging import configure_logging

    IN_PROCESS_LOG.unlink(missing_ok=True)
    configure_logging("test", "INFO", stream=_Tee(IN_PROCESS_LOG))  # type: ignore[arg-type]
