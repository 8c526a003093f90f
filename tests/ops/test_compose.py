"""docker-compose.yml and the Dockerfile as written: every build step that can run here runs,
and every service's command runs with its container's environment against the embedded
PostgreSQL and Redis (no container engine runs on these machines)."""

from __future__ import annotations

import gettext
import http.client
import json
import re
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.beat import PersistentScheduler
from django.conf import settings

from academichub.celery import QUEUES, TASK_ROUTES
from academichub.celery import app as celery_app
from academichub.health import HEARTBEAT_KEY, beat_heartbeat
from academichub.pipeline import sources_poll_due
from digests.tasks import deliveries_send, radars_understand_sweep
from radar.tasks import radar_profile_refresh
from tests.celery_worker import Broker
from tests.ops.conftest import OPERATOR_SHELL, build_step, query, run_build_step
from tests.ops.deployment import (
    REPO,
    MissingVariable,
    Process,
    compose,
    dockerfile,
    interpolate,
    option,
    service_command,
    service_env,
)

pytestmark = pytest.mark.slow

APP_SERVICES = (
    "migrate",
    "web",
    "worker-poll",
    "worker-match",
    "worker-llm",
    "worker-mail",
    "beat",
)
HEARTBEAT = beat_heartbeat.name

WORKERS = ("worker-poll", "worker-match", "worker-llm", "worker-mail")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers={"Host": "radar.example.org", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# --- The files ------------------------------------------------------------------------------


def test_compose_runs_postgres_with_pgvector_redis_web_a_worker_per_queue_and_one_beat() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["redis"]["image"].startswith("redis:")
    assert "noeviction" in services["redis"]["command"]
    assert service_command("web")[0] == "gunicorn"
    beats = [name for name, s in services.items() if " beat" in str(s.get("command", ""))]
    assert beats == ["beat"]
    assert "deploy" not in services["beat"] and "scale" not in services["beat"]
    consumed = {
        name: option(service_command(name), "-Q", "--queues")
        for name in services
        if "worker" in name
    }
    assert consumed == {f"worker-{q}": q for q in QUEUES}
    # Data survives a `docker compose down`: PostgreSQL's and Redis's directories are volumes.
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    assert set(compose()["volumes"]) == {"pgdata", "redisdata"}


def test_every_app_service_starts_after_healthy_servers_and_the_migrations() -> None:
    services = compose()["services"]
    for name in ("postgres", "redis", "web"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES[1:]:
        needs = services[name]["depends_on"]
        assert needs["postgres"] == {"condition": "service_healthy"}, name
        assert needs["redis"] == {"condition": "service_healthy"}, name
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["build"] == ".", name


def test_the_default_mail_settings_point_at_a_mail_sink_that_always_runs() -> None:
    services = compose()["services"]
    email_url = interpolate(services["web"]["environment"]["EMAIL_URL"], OPERATOR_SHELL)
    assert email_url == "smtp://mailsink:1025"
    # Not in a profile: a plain `docker compose up` starts it, so mail goes somewhere.
    assert "profiles" not in services["mailsink"]
    assert services["worker-mail"]["depends_on"]["mailsink"] == {"condition": "service_started"}


def test_compose_refuses_to_start_without_the_production_settings() -> None:
    environment = compose()["services"]["web"]["environment"]
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL"):
        shell = {k: v for k, v in OPERATOR_SHELL.items() if k != name}
        with pytest.raises(MissingVariable, match=name):
            interpolate(environment[name], shell)
    assert environment["DEBUG"] == "false"


def test_the_image_installs_the_project_and_copies_it_before_building_from_it() -> None:
    steps = dockerfile()
    keywords = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.12-slim")
    copy_all = steps.index(("COPY", ". ."))
    assert ("RUN", "pip install --no-cache-dir .") in steps[:copy_all]
    for needle in ("msgfmt", "collectstatic"):
        assert copy_all < steps.index(("RUN", build_step(needle)))
    # The processes do not run as root, and web is what the image runs by default.
    assert keywords.index("USER") > copy_all
    assert keywords[-1] == "CMD"
    cmd = json.loads(steps[-1][1])
    assert cmd[:2] == ["gunicorn", "academichub.wsgi"]
    # The developer's .env and local state never reach the image.
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", "var", ".venv", ".git"} <= set(ignored)


# --- The build steps, run here -----------------------------------------------------------------


def test_the_image_compiles_the_translations(tmp_path: Path) -> None:
    shutil.copytree(REPO / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    result = run_build_step(build_step("msgfmt"), tmp_path)
    assert result.returncode == 0, result.stderr
    mo = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert catalog.gettext("Log in") != "Log in"


def test_the_image_collects_static_files_with_their_manifest(static_root: Path) -> None:
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    ours = {
        str(path.relative_to(REPO / "static"))
        for path in (REPO / "static").rglob("*")
        if path.is_file()
    }
    assert ours <= set(manifest["paths"])
    assert "admin/css/base.css" in manifest["paths"]
    for hashed in manifest["paths"].values():
        assert (static_root / hashed).is_file()


# --- The services, run here --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migrate_service_migrates_an_empty_database_and_seeds_the_sources(
    empty_database: str, tmp_path: Path
) -> None:
    env = service_env("migrate", OPERATOR_SHELL, database=empty_database)
    for run in (1, 2):
        result = subprocess.run(
            service_command("migrate"),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # Compose runs it at every `up`: the second run finds nothing to do and breaks nothing.
        if run == 2:
            assert "No migrations to apply" in result.stdout
    [(sources,)] = query(empty_database, "SELECT count(*) FROM feeds_source")
    assert int(sources) > 0  # type: ignore[call-overload]
    [(vector,)] = query(
        empty_database, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"
    )
    assert vector == 1


@pytest.mark.django_db
def test_the_web_service_serves_pages_static_files_and_passes_its_health_check(
    static_root: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = service_env(
        "web",
        OPERATOR_SHELL,
        database=settings.DATABASES["default"]["NAME"],
        STATIC_ROOT=str(static_root),
    )
    command = service_command("web", **{"0.0.0.0:8000": f"127.0.0.1:{port}"})
    healthcheck = compose()["services"]["web"]["healthcheck"]["test"]
    assert healthcheck[0] == "CMD"
    probe = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in healthcheck[1:]]
    with Process(command, env, tmp_path / "web.log") as web:
        web.wait_for_log(r"Booting worker", 30)

        def healthy() -> bool:
            run = subprocess.run(probe, cwd=REPO, env=env, capture_output=True, timeout=15)
            return run.returncode == 0

        # The service requires the beat's heartbeat (BEAT_HEARTBEAT_MAX_AGE): none yet, so
        # the check fails until the task the beat sends every minute has run.
        redis.Redis.from_url(settings.REDIS_URL).delete(HEARTBEAT_KEY)
        status, _, body = get(port, "/healthz")
        assert (status, json.loads(body)["down"]) == (503, ["beat"])
        assert not healthy()
        beat_heartbeat()
        web.wait(healthy, 30, "a passing health check")
        # Behind the TLS proxy: the page, with its static files under their hashed names.
        status, _, body = get(port, "/", **{"X-Forwarded-Proto": "https"})
        assert status == 200, body[:2000]
        stylesheet = re.search(rb'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', body)
        assert stylesheet is not None, body[:2000]
        status, headers, _ = get(
            port, stylesheet.group(1).decode(), **{"X-Forwarded-Proto": "https"}
        )
        assert status == 200
        assert "max-age=315360000" in headers.get("Cache-Control", "")
        # Plain HTTP from outside is sent to HTTPS.
        status, headers, _ = get(port, "/")
        assert (status, headers["Location"]) == (301, "https://radar.example.org/")
        status, _, body = get(
            port, "/metrics", Authorization=f"Bearer {OPERATOR_SHELL['METRICS_TOKEN']}"
        )
        assert status == 200
        assert b"academichub_queue_length" in body
        assert get(port, "/metrics")[0] == 404
        # The compose file's LOG_FORMAT: the app's log lines are JSON (gunicorn's own are not).
        web.wait_for_log(r'"logger": "django.request"', 10)
    records = [json.loads(line) for line in web.log().splitlines() if line.startswith("{")]
    assert {"level": "WARNING", "logger": "django.request", "message": "Not Found: /metrics"} in [
        {k: r[k] for k in ("level", "logger", "message")} for r in records
    ]


def test_the_web_health_check_fails_when_the_site_does_not_answer() -> None:
    healthcheck = compose()["services"]["web"]["healthcheck"]["test"]
    env = service_env("web", OPERATOR_SHELL, database="unused")
    probe = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}") for arg in healthcheck[1:]]
    assert subprocess.run(probe, cwd=REPO, env=env, capture_output=True, timeout=15).returncode


TASK_PER_QUEUE: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "poll": (sources_poll_due, ()),
    "match": (radar_profile_refresh, (0,)),
    "llm": (radars_understand_sweep, ()),
    "mail": (deliveries_send, ([],)),
}


@pytest.mark.django_db
def test_each_worker_service_consumes_its_own_queue_and_leaves_the_others(
    own_broker: Broker, tmp_path: Path
) -> None:
    assert set(TASK_PER_QUEUE) == set(QUEUES)
    for task, args in TASK_PER_QUEUE.values():
        own_broker.send(task, *args)
    assert own_broker.queued() == dict.fromkeys(QUEUES, 1)
    left = set(QUEUES)
    for service in WORKERS:
        env = service_env(service, OPERATOR_SHELL, database=settings.DATABASES["default"]["NAME"])
        queue = option(service_command(service), "-Q")
        assert queue is not None
        task = TASK_PER_QUEUE[queue][0]
        with Process(service_command(service), env, tmp_path / f"{service}.log") as worker:
            worker.wait_for_log(rf"Task {re.escape(task.name)}\[\S+\] succeeded", 60)
        left.discard(queue)
        assert own_broker.queued() == {q: int(q in left) for q in QUEUES}, service


@pytest.mark.django_db
def test_the_beat_service_sends_every_scheduled_task_to_its_queue(
    own_broker: Broker, tmp_path: Path
) -> None:
    # A schedule file whose every entry last ran a day ago: beat sends them all at once.
    schedule = tmp_path / "celerybeat-schedule"
    scheduler = PersistentScheduler(app=celery_app, schedule_filename=str(schedule))
    for entry in scheduler.schedule.values():
        entry.last_run_at = datetime.now(UTC) - timedelta(days=1)
    scheduler.sync()
    scheduler.close()
    entries = celery_app.conf.beat_schedule.values()
    expected = {q: sum(TASK_ROUTES[e["task"]] == q for e in entries) for q in QUEUES}
    # …and, as it starts, one heartbeat of its own (the first scheduled one is a minute away).
    expected[TASK_ROUTES[HEARTBEAT]] += 1
    env = service_env("beat", OPERATOR_SHELL, database=settings.DATABASES["default"]["NAME"])
    command = service_command("beat", **{"/tmp/celerybeat-schedule": str(schedule)})
    with Process(command, env, tmp_path / "beat.log") as beat:
        beat.wait(lambda: own_broker.queued() == expected, 20, f"queues {expected}")
        sent = re.findall(r"Sending due task \S+ \((\S+)\)", beat.log())
    assert sorted(sent) == sorted(e["task"] for e in entries)
    assert sorted(own_broker.waiting_tasks()) == sorted([*(e["task"] for e in entries), HEARTBEAT])


@pytest.mark.django_db
def test_a_new_beat_sends_a_heartbeat_at_once(own_broker: Broker, tmp_path: Path) -> None:
    # A fresh deployment: no schedule file, so every scheduled entry is a period away; the
    # heartbeat /healthz waits for (BEAT_HEARTBEAT_MAX_AGE) is sent as the beat starts.
    env = service_env("beat", OPERATOR_SHELL, database=settings.DATABASES["default"]["NAME"])
    schedule = tmp_path / "celerybeat-schedule"
    command = service_command("beat", **{"/tmp/celerybeat-schedule": str(schedule)})
    with Process(command, env, tmp_path / "beat.log") as beat:
        beat.wait(lambda: HEARTBEAT in own_broker.waiting_tasks(), 20, "a heartbeat")
        time.sleep(1)  # anything else would be sent at the same moment
    assert own_broker.waiting_tasks() == [HEARTBEAT]
