"""Fixtures for feed tests: fetching from loopback without politeness waits."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings


@pytest.fixture
def loopback_fetch(settings: Settings, redis_client: object) -> Settings:
    """Allow fetching from the local test server, quickly."""
    settings.FETCH_ALLOW_PRIVATE_IPS = True
    settings.FETCH_HOST_INTERVALS = {"default": 0.0}
    settings.FETCH_DEADLINE = 5.0
    return settings
