"""Production readiness: `check --deploy`, the refusal of development defaults with DEBUG off,
password hashing, and the Celery timing settings."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import environ
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from academichub.celery import app
from tests.ops.deployment import database_url

REPO = Path(__file__).resolve().parent.parent


def test_the_database_url_given_to_the_check_parses_back_to_our_database() -> None:
    db = settings.DATABASES["default"]
    parsed = environ.Env.db_url_config(database_url(db))
    assert (parsed["HOST"], parsed["USER"], parsed["NAME"]) == (db["HOST"], db["USER"], db["NAME"])
    assert str(parsed["PORT"]) == str(db.get("PORT") or "")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"


def production_env(**overrides: str) -> dict[str, str]:
    """A production environment (DEBUG off, every required setting), with `overrides`; an
    empty value leaves that variable unset."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "radar.example.org",
        "SITE_URL": "https://radar.example.org",
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "REDIS_URL": settings.REDIS_URL,
        **overrides,
    }
    return {name: value for name, value in env.items() if value}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    alphabet = string.ascii_letters + string.digits + string.punctuation.replace("$", "")
    key = "".join(secrets.choice(alphabet) for _ in range(60))
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(SECRET_KEY=key)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "no issues (0 silenced)" in output


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY (the development key is refused)"),
        ({"SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY}, "SECRET_KEY (the development key"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"SITE_URL": ""}, "SITE_URL"),
    ],
)
def test_with_debug_off_the_site_refuses_to_start_on_development_defaults(
    overrides: dict[str, str], named: str
) -> None:
    result = manage("check", env=production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is off (production), so set these" in result.stderr
    assert named in result.stderr
    assert "For development set DEBUG=true." in result.stderr


def test_with_debug_on_the_development_defaults_are_fine() -> None:
    env = production_env(DEBUG="true", SECRET_KEY="", ALLOWED_HOSTS="", SITE_URL="")
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr


def test_a_celery_worker_refuses_the_development_key_too() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "academichub", "worker", "--loglevel", "INFO"],
        cwd=REPO,
        env=production_env(SECRET_KEY=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY (the development key is refused)" in result.stdout + result.stderr


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


def test_beat_schedules_the_polls_the_sweeps_the_briefing_dispatch_and_its_heartbeat() -> None:
    schedule = app.conf.beat_schedule
    assert sorted(entry["task"] for entry in schedule.values()) == [
        "academichub.health.beat_heartbeat",
        "academichub.pipeline.papers_match_sweep",
        "digests.tasks.cards_sweep",
        "digests.tasks.digests_dispatch_due",
        "digests.tasks.radars_understand_sweep",
        "feeds.tasks.sources_poll_due",
        "radar.tasks.radars_rescore_sweep",
    ]
