"""PostgreSQL stopped and started again under the compose web service (gunicorn, DEBUG off):
while it is down pages answer a plain 503 page in the visitor's language (no traceback) and
/healthz names the database; once it is back the same server process answers again. A
throwaway cluster holding a copy of the test database, stopped with `pg_ctl -m fast`."""

from __future__ import annotations

import http.client
import shlex
import time
from pathlib import Path

import pytest
from django.conf import settings

from academichub.health import beat_heartbeat
from tests.factories import SourceFactory, make_paper
from tests.faults.servers import ThrowawayPostgres, free_port
from tests.ops.conftest import OPERATOR_SHELL, build_step, run_build_step
from tests.ops.deployment import Process, service_command, service_env

HOST = {"Host": "radar.example.org", "X-Forwarded-Proto": "https"}


def get(port: int, path: str, **headers: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers={**HOST, **headers})
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_postgres_stopped_pages_answer_503_and_recover_without_a_restart(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    source = SourceFactory.create(slug="arxiv-cs-restart")
    make_paper(source, key="2601.00002", title="Outlives the restart")
    db = settings.DATABASES["default"]
    throwaway_postgres.copy_database(
        db["NAME"], host=str(db["HOST"]), user=str(db["USER"]), port=str(db.get("PORT") or "")
    )
    static = tmp_path / "static"
    line = build_step("collectstatic")
    built = run_build_step(line, Path(settings.BASE_DIR), STATIC_ROOT=str(static))
    assert built.returncode == 0, f"{shlex.quote(line)}:\n{built.stdout}{built.stderr}"
    port = free_port()
    env = service_env(
        "web", OPERATOR_SHELL, database=db["NAME"], STATIC_ROOT=str(static),
        DATABASE_URL=throwaway_postgres.database_url(db["NAME"]),
    )  # fmt: skip
    command = service_command("web", **{"0.0.0.0:8000": f"127.0.0.1:{port}"})
    # The compose web service also requires the beat's heartbeat, which its beat writes.
    beat_heartbeat()
    with Process(command, env, tmp_path / "web.log") as web:
        web.wait(lambda: get(port, "/healthz?live")[0] == 200, 30, "the web server")
        assert "Outlives the restart" in get(port, "/")[1]

        throwaway_postgres.stop()
        down_at = time.monotonic()
        status, page = get(port, "/")
        zh_status, zh_page = get(port, "/", **{"Accept-Language": "zh-hans"})
        health, health_body = get(port, "/healthz")
        live, _ = get(port, "/healthz?live")
        paper_status, _ = get(port, "/papers/2601.00002/")

        throwaway_postgres.start()
        back, back_page = get(port, "/")
        outage = time.monotonic() - down_at
        pid_after = web.popen.poll()

    assert (status, zh_status, paper_status) == (503, 503, 503)
    assert "briefly unavailable" in page and "Traceback" not in page
    assert "暂时无法访问" in zh_page
    assert health == 503 and '"down": ["database"]' in health_body
    assert live == 200
    assert (back, pid_after) == (200, None)
    assert "Outlives the restart" in back_page
    assert outage < 30
    print(f"\nPostgreSQL away for {outage:.1f} s; pages 503, then 200 from the same process")
