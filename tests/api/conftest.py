"""Fixtures for the JSON API: users, tokens, and a client that sends a bearer token."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.test import Client

from api.tokens import token_create
from tests.factories import make_user


def bearer(secret: str) -> dict[str, str]:
    """The request header that carries an API token."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(autouse=True)
def _empty_redis(redis_client: redis.Redis) -> None:
    """Rate-limit counters from another test never leak into this one."""


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice@example.org")


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob@example.org")


@pytest.fixture
def alice_secret(alice: Any) -> str:
    _, secret = token_create(user=alice, name="alice's script")
    return secret


@pytest.fixture
def api_client(alice_secret: str) -> Client:
    """A client whose every request carries alice's token."""
    return Client(headers=bearer(alice_secret))
