"""Each token may make API_RATE_LIMIT_PER_MINUTE requests a minute; then 429 + Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from pytest_django.fixtures import Settings

from api.tokens import token_create
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db

MINUTE = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _three_a_minute(settings: Settings) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 3


def test_the_fourth_request_in_a_minute_is_refused_with_retry_after(api_client: Client) -> None:
    with time_machine.travel(MINUTE + timedelta(seconds=15), tick=False):
        statuses = [api_client.get("/api/v1/papers").status_code for _ in range(3)]
        refused = api_client.get("/api/v1/papers/2411.00001")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests."}
    assert refused["Retry-After"] == "45"


def test_the_limit_resets_in_the_next_minute(api_client: Client) -> None:
    with time_machine.travel(MINUTE + timedelta(seconds=58), tick=False):
        for _ in range(3):
            api_client.get("/api/v1/papers")
        late = api_client.get("/api/v1/papers")
    with time_machine.travel(MINUTE + timedelta(seconds=61), tick=False):
        next_minute = api_client.get("/api/v1/papers")

    assert late.status_code == 429
    assert late["Retry-After"] == "2"
    assert next_minute.status_code == 200


def test_each_token_has_its_own_allowance(alice: Any, api_client: Client) -> None:
    _, other_secret = token_create(user=alice, name="second")
    with time_machine.travel(MINUTE, tick=False):
        for _ in range(4):
            api_client.get("/api/v1/papers")
        other = Client(headers=bearer(other_secret)).get("/api/v1/papers")

    assert other.status_code == 200


def test_refused_and_unauthenticated_requests_are_not_counted_against_a_token(
    api_client: Client,
) -> None:
    with time_machine.travel(MINUTE, tick=False):
        for _ in range(5):
            assert Client().get("/api/v1/papers").status_code == 401
        statuses = [api_client.get("/api/v1/papers").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_requests_are_served_unlimited_while_redis_is_down(
    api_client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    statuses = [api_client.get("/api/v1/papers").status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert "rate limit not applied" in caplog.text
