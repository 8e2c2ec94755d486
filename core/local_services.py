"""Local services for `just dev` and the tests: use what answers, start what does not.

PostgreSQL and Redis at the configured URLs are used when they answer; otherwise throwaway
instances are started from the system binaries (installed from Debian's packages when missing).
MongoDB is the wire-compatible nx-27017 from PyPI: in memory for tests, a file under `.local/`
for development.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

LOCAL = Path(".local")


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(host, port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {host}:{port} within {seconds:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _apt_install(package: str) -> None:
    print(f"installing {package} from Debian's packages", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True)


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def ensure_postgres(url: str) -> None:
    host, port = _host_port(url, 5432)
    if answers(host, port):
        return
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        _apt_install("postgresql")
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    data = (LOCAL / "postgres").resolve()
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(data, "postgres")
        subprocess.run([*user, f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust"], check=True)
    subprocess.run(
        [
            *user,
            f"{bindir}/pg_ctl",
            "-D",
            str(data),
            "-l",
            str(data / "log"),
            "-o",
            f"-p {port} -k /tmp",
            "start",
        ],
        check=True,
    )
    wait_for(host, port, "PostgreSQL")


def ensure_redis(url: str) -> None:
    host, port = _host_port(url, 6379)
    if answers(host, port):
        return
    if not shutil.which("redis-server"):
        _apt_install("redis-server")
    subprocess.run(
        ["redis-server", "--port", str(port), "--daemonize", "yes", "--save", "", "--appendonly", "no"],
        check=True,
    )
    wait_for(host, port, "Redis")


def start_mongo(port: int, db: str = "memory") -> subprocess.Popen[bytes]:
    """Start nx-27017 on `port` (`db` is 'memory' or a file path); the caller stops it."""
    exe = Path(sys.executable).with_name("nx-27017")
    LOCAL.mkdir(exist_ok=True)
    log = (LOCAL / f"nx-27017-{port}.log").open("ab")
    proc = subprocess.Popen(
        [
            str(exe),
            *("--db", db, "-p", str(port), "--host", "127.0.0.1"),
            *("--pid-file", str((LOCAL / f"nx-27017-{port}.pid").resolve())),
            *("--log-file", str((LOCAL / f"nx-27017-{port}.server.log").resolve())),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for("127.0.0.1", port, "nx-27017")
    return proc


def ensure_mongo(url: str) -> subprocess.Popen[bytes] | None:
    host, port = _host_port(url, 27017)
    if answers(host, port):
        return None
    LOCAL.mkdir(exist_ok=True)
    return start_mongo(port, str((LOCAL / "mongo.db").resolve()))


def ensure_database(url: str) -> None:
    """Create the database named in a PostgreSQL URL when it does not exist yet."""
    import asyncio

    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")

    async def create() -> None:
        conn = await asyncpg.connect(parts._replace(path="/postgres").geturl())
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
