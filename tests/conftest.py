"""Shared fixtures: real PostgreSQL (pytest-django's test database) and real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from django.conf import settings

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    """The bytes of a recorded response in tests/fixtures/feeds/."""
    return (FIXTURES / "feeds" / name).read_bytes()


@pytest.fixture
def redis_client() -> redis.Redis:
    """The real Redis the app uses, emptied before the test."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    return client


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters live in the cache (Redis): every test starts without them."""
    from django.core.cache import cache

    cache.clear()
