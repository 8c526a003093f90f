"""The deployment files (docker-compose.yml, Dockerfile, Procfile) read as their engines read
them, and their commands started here against the embedded PostgreSQL and Redis.

No container engine runs on these machines, so a service's command runs as a subprocess with
the environment its container would have: the image's ENV lines and the service's
`environment:` interpolated from an operator's shell. The one change is where the servers
are: the compose host names `postgres` and `redis` become the test database and this run's
own Redis database.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import redis
import yaml
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
# The image installs the project's packages system-wide; here they are in the venv.
VENV_BIN = Path(sys.executable).parent

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    """A `${NAME:?message}` the operator's shell does not set: compose refuses to start."""


def compose() -> dict[str, Any]:
    """docker-compose.yml as compose reads it (YAML, anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def interpolate(value: str, shell: Mapping[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$`, from `shell`."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise MissingVariable(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return _VARIABLE.sub(one, value)


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def image_env() -> dict[str, str]:
    """The variables the Dockerfile's ENV lines set (`ENV A=1 B=2`)."""
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def base_env() -> dict[str, str]:
    """A container's starting point here: the image's ENV, and a PATH that finds the venv."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        **image_env(),
    }


def database_url(db: Mapping[str, Any]) -> str:
    """The DATABASE_URL that django-environ parses back into `db` (host, port, user, name)."""
    user = quote(str(db["USER"]), safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(str(db["PASSWORD"]), safe="")
    name = quote(str(db["NAME"]), safe="")
    host = str(db.get("HOST") or "")
    if host.startswith("/"):
        # A socket directory travels percent-encoded in the path: django-environ splits
        # "/<dir>/<name>" itself. In the host part it would be kept still encoded.
        return f"postgres://{user}@/{quote(host, safe='')}/{name}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}@{host}{port}/{name}"


def redis_db(url: str) -> int:
    """The database number a REDIS_URL selects."""
    return int(redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db") or 0)


def service_env(
    service: str, shell: Mapping[str, str], *, database: str, **extra: str
) -> dict[str, str]:
    """What `service`'s process sees in its container, here: the image's ENV and its
    `environment:` from the operator's `shell`, with the compose host names of PostgreSQL
    and Redis swapped for database `database` and this run's Redis database."""
    services = compose()["services"]
    declared = services[service].get("environment", {})
    env = {name: interpolate(str(value), shell) for name, value in declared.items()}
    # The compose file must point at its own services, or the swap below would hide it.
    assert urlsplit(env["DATABASE_URL"]).hostname == "postgres" and "postgres" in services
    assert urlsplit(env["REDIS_URL"]).hostname == "redis" and "redis" in services
    env["DATABASE_URL"] = database_url({**settings.DATABASES["default"], "NAME": database})
    env["REDIS_URL"] = settings.REDIS_URL
    return {**base_env(), **env, **extra}


def service_command(service: str, **replace: str) -> list[str]:
    """`service`'s command as compose runs it (a string is split shell-like, not run by a
    shell), with each `old=new` of `replace` (host ports, paths) swapped in one argument."""
    command = compose()["services"][service]["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    for old, new in replace.items():
        hits = [i for i, arg in enumerate(argv) if old in arg]
        assert len(hits) == 1, f"{old!r} in {argv}"
        argv[hits[0]] = argv[hits[0]].replace(old, new)
    return argv


def procfile() -> dict[str, list[str]]:
    """The Procfile's processes: name → argv (as honcho's shell splits it)."""
    processes = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z0-9_-]+", name):
            processes[name] = shlex.split(command)
    return processes


def option(argv: list[str], *names: str) -> str | None:
    """The value of the first of `names` in `argv` (`-Q poll` or `-Q=poll`), or None."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


class Process:
    """A command started in its own process group, its output in a log file."""

    def __init__(self, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log_path = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        """Everything written so far."""
        return self.log_path.read_text(errors="replace")

    def wait(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        """Wait for `condition`; fail with the log if it does not come or the process exits."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"exited ({self.popen.returncode}) before {what}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def wait_for_log(self, pattern: str, timeout: float) -> None:
        """Wait for a line matching the regular expression `pattern`."""
        self.wait(lambda: re.search(pattern, self.log()), timeout, repr(pattern))

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after a few seconds."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=8)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
