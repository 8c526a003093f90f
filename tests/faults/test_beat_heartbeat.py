"""The beat stopped: where BEAT_HEARTBEAT_MAX_AGE is set (the compose web service sets it),
/healthz answers 503 naming "beat" while the heartbeat is missing or older than that, and 200
while it is fresh. The heartbeat is written by the task the beat sends every minute, run by
a real worker; the beat's silence afterwards is time moved on (time-machine)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from django.test import Client
from pytest_django.fixtures import Settings

from academichub.health import HEARTBEAT_KEY, beat_heartbeat
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.ops.conftest import OPERATOR_SHELL
from tests.ops.deployment import compose, service_env

MAX_AGE = 300


def healthz(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_healthz_names_the_beat_while_its_heartbeat_is_missing_or_stale(
    broker: Broker, start_worker: StartWorker, settings: Settings, client: Client
) -> None:
    # The site reads the heartbeat where the worker writes it.
    settings.REDIS_URL = broker.redis_url
    settings.BEAT_HEARTBEAT_MAX_AGE = MAX_AGE
    assert broker.client.get(HEARTBEAT_KEY) is None

    # Never written: a beat that never ran (or a deployment whose beat was left out).
    assert healthz(client) == (
        503,
        {"status": "down", "down": ["beat"], "database": "ok", "redis": "ok", "beat": "down"},
    )

    start_worker()
    sent = time.monotonic()
    broker.send(beat_heartbeat)  # what the beat sends every minute
    assert wait_until(lambda: broker.client.get(HEARTBEAT_KEY), 30)
    written_in = time.monotonic() - sent
    assert healthz(client) == (
        200,
        {"status": "ok", "down": [], "database": "ok", "redis": "ok", "beat": "ok"},
    )

    # The beat stops: no heartbeat comes after that one.
    written = float(broker.client.get(HEARTBEAT_KEY) or 0)
    with time_machine.travel(written + MAX_AGE - 5, tick=False):
        assert healthz(client)[0] == 200
    with time_machine.travel(written + MAX_AGE + 1, tick=False):
        status, body = healthz(client)
    assert (status, body["down"], body["beat"]) == (503, ["beat"], "down")
    assert client.get("/healthz?live").status_code == 200  # the process itself is fine

    # Where the beat does not run (BEAT_HEARTBEAT_MAX_AGE=0) it is not asked about.
    settings.BEAT_HEARTBEAT_MAX_AGE = 0
    broker.client.delete(HEARTBEAT_KEY)
    assert healthz(client) == (200, {"status": "ok", "down": [], "database": "ok", "redis": "ok"})
    print(f"\nheartbeat written by a real worker {written_in:.2f} s after it was sent")


def test_the_compose_web_service_checks_the_beat_heartbeat() -> None:
    """docker-compose.yml runs the beat, so its web service's /healthz (its health check)
    must say when the beat stops."""
    env = service_env("web", OPERATOR_SHELL, database="unused")
    assert int(env["BEAT_HEARTBEAT_MAX_AGE"]) == MAX_AGE
    assert "BEAT_HEARTBEAT_MAX_AGE" in compose()["services"]["web"]["environment"]
