"""Shared fixtures: real PostgreSQL (pytest-django's test database) and real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from pytest_httpserver import HTTPServer

from tests.celery_worker import Broker, StartWorker, Worker
from tests.factories import UserFactory, fresh_client

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


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """A request of a reader in Chinese leaves Chinese active in this thread: every test starts
    in the default language, whichever ran before it."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def client() -> Client:
    """pytest-django's client, but from an address of its own (see `random_ip`)."""
    return fresh_client()


@pytest.fixture
def alice(db: None) -> User:
    """The owner in view tests."""
    return UserFactory.create(name="alice")


@pytest.fixture
def bob(db: None) -> User:
    """Another user, who must never see or change alice's things."""
    return UserFactory.create(name="bob")


# --- Real Celery workers (the slow tests) ----------------------------------------------------


@pytest.fixture
def broker() -> Broker:
    """An empty Redis database for this test's queue, fetch turns and cache."""
    return Broker()


@pytest.fixture
def start_worker(broker: Broker, tmp_path: Path) -> Iterator[StartWorker]:
    """Start workers on `broker`; stop every one of them after the test."""
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers)}.log", broker, env)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def feed_server() -> Iterator[HTTPServer]:
    """A threaded server on loopback, so one slow answer does not hold up the next request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
