"""A real `celery worker -P prefork -c 1` in a subprocess, on the test database and Redis."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import environ
import psutil
import redis
from celery import Task
from django.conf import settings
from django.db import connection

from academichub.celery import QUEUES
from academichub.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parent.parent
# The worker tests' own Redis database: other test runs flush theirs (and take turns at
# 127.0.0.1 in it) at any moment, which must not touch a queue a worker is draining. Two runs
# of worker tests at once need one each (WORKER_REDIS_DB=14), or one consumes the other's tasks.
WORKER_REDIS_DB = int(os.environ.get("WORKER_REDIS_DB", "2"))
# Small limits in the order production keeps them: fetch deadline < the host-turn lock's
# TTL (3 × deadline, feeds/http.py) < soft limit < hard limit < visibility timeout.
DEFAULT_ENV = {
    "FETCH_DEADLINE": "2",
    "FETCH_CONNECT_TIMEOUT": "1",
    "CELERY_TASK_SOFT_TIME_LIMIT": "20",
    "CELERY_TASK_TIME_LIMIT": "22",
    "CELERY_VISIBILITY_TIMEOUT": "60",
}


def redis_url_with_db(url: str, db: int) -> str:
    """`url` (a REDIS_URL, unix:// or redis://) pointed at database number `db`."""
    if url.startswith("unix://"):
        # urlunsplit would drop the empty host of unix:///path, so only the query is rebuilt.
        path, _, query = url.partition("?")
        return f"{path}?{urlencode({**dict(parse_qsl(query)), 'db': str(db)})}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def broker_url_for(redis_url: str) -> str:
    """The CELERY_BROKER_URL academichub/settings.py derives from a REDIS_URL."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://").replace(
            "?db=", "?virtual_host="
        )
    return redis_url


class Broker:
    """The Redis database one test's workers consume from, emptied when it is made."""

    def __init__(self, db: int = WORKER_REDIS_DB) -> None:
        # The derivation is copied here, so check it still matches the settings' own.
        assert broker_url_for(settings.REDIS_URL) == settings.CELERY_BROKER_URL
        self.redis_url = redis_url_with_db(settings.REDIS_URL, db)
        self.url = broker_url_for(self.redis_url)
        self.client = redis.Redis.from_url(self.redis_url)
        assert self.client.connection_pool.connection_kwargs["db"] == db
        self.client.flushdb()

    def send(self, task: Task[Any, Any], *args: Any) -> str:
        """Enqueue `task(*args)` through the app's own publishing path; returns the task id."""
        with celery_app.connection_for_write(self.url) as conn, conn.Producer() as producer:
            return str(task.apply_async(args, producer=producer).id)

    def handed_out_at(self) -> list[float]:
        """When each unacknowledged message was handed to a worker (Unix time)."""
        entries = self.client.zrange("unacked_index", 0, -1, withscores=True)
        return [float(score) for _, score in cast(list[tuple[bytes, float]], entries)]

    def queued(self) -> dict[str, int]:
        """Messages waiting in each queue (academichub.celery.QUEUES), not yet handed out."""
        return {queue: int(self.client.llen(queue)) for queue in QUEUES}

    def waiting(self) -> int:
        """Messages queued in any queue, plus those handed to a worker and not yet acknowledged."""
        return sum(self.queued().values()) + int(self.client.hlen("unacked"))

    def waiting_tasks(self) -> list[str]:
        """The task names of the messages `waiting` counts."""
        queued = [json.loads(raw) for queue in QUEUES for raw in self.client.lrange(queue, 0, -1)]
        # An unacknowledged entry is [message, exchange, routing key].
        handed_out = [json.loads(raw)[0] for raw in self.client.hvals("unacked")]
        return [str(message["headers"]["task"]) for message in queued + handed_out]


def database_url_for_tests() -> str:
    """DATABASE_URL for the database pytest-django created, in django-environ's syntax."""
    db = connection.settings_dict
    # Only once pytest-django has set up the test database (django_db) is NAME its name.
    assert db["NAME"] == db["TEST"]["NAME"], "the test database is not set up"
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host = str(db.get("HOST") or "")
    if host.startswith("/"):
        # A unix socket directory goes in the path: postgres://user@//socket/dir/name.
        url = f"postgres://{credentials}/{quote(host)}/{quote(db['NAME'])}"
    else:
        port = f":{db['PORT']}" if db.get("PORT") else ""
        url = f"postgres://{credentials}{host}{port}/{quote(db['NAME'])}"
    parsed = environ.Env.db_url_config(url)
    # The worker must reach exactly this database, or it would poll into another one.
    assert (parsed["NAME"], parsed["HOST"]) == (db["NAME"], host), (url, parsed)
    return url


class WorkerError(Exception):
    """The worker subprocess did not do what the harness needs (start, run, show a child).

    Not an AssertionError, so a test marked xfail(raises=AssertionError) for a production
    bug never passes as "expected failure" because the harness itself broke.
    """


class Worker:
    """One worker subprocess: started, inspected through its log and psutil, killed by PID."""

    def __init__(
        self, log_path: Path, broker: Broker, env: dict[str, str], queues: Sequence[str] = ()
    ) -> None:
        self.log_path = log_path
        # Empty: every queue of academichub.celery.QUEUES.
        self.queues = list(queues)
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "academichub.settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": broker.redis_url,
            "FETCH_ALLOW_PRIVATE_IPS": "true",
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "INFO",
            **DEFAULT_ENV,
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Worker:
        """Start the worker and return once it consumes the queue."""
        command = [
            sys.executable, "-m", "celery", "-A", "academichub", "worker",
            "-P", "prefork", "-c", "1", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"{self.name}@%h",
        ]  # fmt: skip
        if self.queues:
            command += ["-Q", ",".join(self.queues)]
        with self.log_path.open("ab") as log:
            # Its own process group, so stop() can reach a pool child orphaned by a kill.
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_log(re.compile(rf"{self.name}@\S+ ready\."), timeout)
        return self

    @property
    def pid(self) -> int:
        """The main process's PID."""
        if self.process is None:
            raise WorkerError("the worker was not started")
        return self.process.pid

    def log(self) -> str:
        """Everything the worker has written so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait at most `timeout` s for `condition`, failing early if the worker dies."""
        if not wait_until(condition, timeout, self._died):
            raise WorkerError(f"no {what} within {timeout} s; worker log:\n{self.log()}")

    def wait_for_log(self, pattern: re.Pattern[str], timeout: float) -> None:
        """Wait at most `timeout` s for a line matching `pattern` in the log."""
        self.wait(lambda: bool(pattern.search(self.log())), timeout, repr(pattern.pattern))

    def pool_child(self, *, other_than: int | None = None, timeout: float = 10) -> psutil.Process:
        """The prefork pool's one child process (a new one, if `other_than` is given)."""
        found: list[psutil.Process] = []

        def one_child() -> bool:
            with contextlib.suppress(psutil.NoSuchProcess):
                children = psutil.Process(self.pid).children()
                alive = [
                    c
                    for c in children
                    if c.pid != other_than and c.status() != psutil.STATUS_ZOMBIE
                ]
                found[:] = alive
            return len(found) == 1

        self.wait(one_child, timeout, "single pool child")
        return found[0]

    def kill(self) -> None:
        """SIGKILL the main process and its pool child, as a crash or an OOM kill would."""
        main = psutil.Process(self.pid)
        for process in [main, *main.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL the whole process group after a few seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def _died(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise WorkerError(f"the worker exited ({self.process.returncode}):\n{self.log()}")


def wait_until[T](
    condition: Callable[[], T], timeout: float, check: Callable[[], None] | None = None
) -> T:
    """Ask `condition` every 0.1 s until it is truthy or `timeout` s pass; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        if check is not None:
            check()
        time.sleep(0.1)


# What the `start_worker` fixture (tests/conftest.py) hands a test: start a worker on the
# test's broker, with extra environment variables.
StartWorker = Callable[..., Worker]
