"""The fault suite's servers: throwaway Redis and PostgreSQL instances of its own, so killing
them never touches the shared embedded servers other tests use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import ThrowawayPostgres, ThrowawayRedis


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """A running redis-server on its own port, killed after the test."""
    server = ThrowawayRedis(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL cluster of its own, deleted after the test."""
    server = ThrowawayPostgres().init()
    yield server
    server.destroy()
