"""Production readiness: `check --deploy`, password hashing, and the Celery timing settings."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import environ
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from academichub.celery import app

REPO = Path(__file__).resolve().parent.parent


def database_url(db: dict[str, str]) -> str:
    """The DATABASE_URL that django-environ parses back into `db` (host, port, user, name)."""
    user = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    name = quote(db["NAME"], safe="")
    host = db.get("HOST", "")
    if host.startswith("/"):
        # A socket directory travels percent-encoded in the path: django-environ splits
        # "/<dir>/<name>" itself. In the host part it would be kept still encoded.
        return f"postgres://{user}@/{quote(host, safe='')}/{name}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}@{host}{port}/{name}"


def test_the_database_url_given_to_the_check_parses_back_to_our_database() -> None:
    db = settings.DATABASES["default"]
    parsed = environ.Env.db_url_config(database_url(db))
    assert (parsed["HOST"], parsed["USER"], parsed["NAME"]) == (db["HOST"], db["USER"], db["NAME"])
    assert str(parsed["PORT"]) == str(db.get("PORT") or "")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"


def test_check_deploy_is_clean_with_production_settings() -> None:
    alphabet = string.ascii_letters + string.digits + string.punctuation.replace("$", "")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(60)),
        "ALLOWED_HOSTS": "radar.example.org",
        "SITE_URL": "https://radar.example.org",
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "REDIS_URL": settings.REDIS_URL,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "no issues (0 silenced)" in output


@pytest.mark.django_db
def test_a_new_users_password_is_stored_as_an_argon2_hash() -> None:
    user_model = get_user_model()
    fields: dict[str, Any] = {
        "email": "ada@example.org",
        "password": "correct horse battery staple",
    }
    if user_model.USERNAME_FIELD != "email":
        fields[user_model.USERNAME_FIELD] = "ada"
    user = user_model.objects.create_user(**fields)
    stored = user_model.objects.values_list("password", flat=True).get(pk=user.pk)
    assert stored.startswith("argon2")
    assert user.check_password("correct horse battery staple")


def test_a_fetch_ends_before_the_task_is_warned_killed_or_redelivered() -> None:
    assert (
        settings.FETCH_DEADLINE
        < settings.CELERY_TASK_SOFT_TIME_LIMIT
        < settings.CELERY_TASK_TIME_LIMIT
        < settings.CELERY_VISIBILITY_TIMEOUT
    )


def test_the_celery_app_uses_those_limits() -> None:
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.broker_transport_options["visibility_timeout"] == (
        settings.CELERY_VISIBILITY_TIMEOUT
    )


def test_celery_acknowledges_late_and_prefetches_one_task() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_beat_schedules_the_polls_the_sweeps_and_the_briefing_dispatch() -> None:
    schedule = app.conf.beat_schedule
    assert sorted(entry["task"] for entry in schedule.values()) == [
        "digests.tasks.cards_sweep",
        "digests.tasks.digests_dispatch_due",
        "digests.tasks.radars_understand_sweep",
        "feeds.tasks.sources_poll_due",
    ]
