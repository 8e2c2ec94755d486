"""Processes the chaos run owns: a private PostgreSQL cluster and Redis it may restart, roles."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from core.local_services import free_port, wait_for

LOGS = Path("test-artifacts/chaos")


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.name, self.args, self.env, self.port = name, args, env, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> Proc:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            self.args, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.port:
            wait_for("127.0.0.1", self.port, self.name, seconds=60)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def gateway(name: str, args: list[str], env: dict[str, str], port: int | None = None) -> Proc:
    return Proc(name, [sys.executable, "-m", "core", *args], env, port)


class PrivatePostgres:
    """A throwaway cluster from the system binaries, so the run can restart PostgreSQL freely."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/chaos"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.user, f"{self.bindir}/pg_ctl", "-D", str(self.dir / "data"), *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        if self.user:
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            [*self.user, f"{self.bindir}/initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._ctl("-l", str(self.dir / "log"), "-o", f"-p {self.port} -k /tmp -c max_connections=300", "start", "-w")
        subprocess.run(
            [f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos"], check=True
        )

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart", "-w", "-l", str(self.dir / "log"))

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """Redis with AOF on (as production runs it), so a restart keeps the queues."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chaos-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for("127.0.0.1", self.port, "redis")

    def restart(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait()
        self.start()

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
