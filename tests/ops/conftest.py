"""Fixtures of the operations tests: the operator's shell, a collected STATIC_ROOT, this
run's own broker database and an empty database beside the test database."""

from __future__ import annotations

import secrets
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.celery_worker import Broker
from tests.ops.deployment import REPO, base_env, dockerfile, redis_db

METRICS_TOKEN = secrets.token_urlsafe(32)
# What an operator exports before `docker compose up` (README, "Deploying with docker-compose").
OPERATOR_SHELL = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "radar.example.org",
    "SITE_URL": "https://radar.example.org",
    "METRICS_TOKEN": METRICS_TOKEN,
}


def build_step(needle: str) -> str:
    """The one RUN line of the Dockerfile that contains `needle`."""
    [line] = [args for keyword, args in dockerfile() if keyword == "RUN" and needle in args]
    return line


def run_build_step(line: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A RUN line as the builder runs it (`/bin/sh -c`), with the image's ENV so far."""
    return subprocess.run(
        ["sh", "-c", line],
        cwd=cwd,
        env={**base_env(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The STATIC_ROOT the image's collectstatic step fills (here in a temp dir)."""
    root = tmp_path_factory.mktemp("static")
    line = build_step("collectstatic")
    result = run_build_step(line, REPO, STATIC_ROOT=str(root))
    assert result.returncode == 0, f"{shlex.quote(line)}:\n{result.stdout}{result.stderr}"
    return root


@pytest.fixture
def own_broker() -> Broker:
    """The broker in this run's own Redis database (EMBEDDED_REDIS_DB, or REDIS_URL's), emptied:
    parallel runs with other databases never see these queues."""
    return Broker(db=redis_db(settings.REDIS_URL))


def _server(dbname: str = "postgres") -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=dbname,
        autocommit=True,
    )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new, empty database on the test server, named after the test database; dropped after."""
    name = f"{settings.DATABASES['default']['TEST']['NAME']}_empty"
    with _server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with _server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(dbname: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of `sql` in database `dbname`."""
    with _server(dbname) as conn:
        return conn.execute(sql).fetchall()
