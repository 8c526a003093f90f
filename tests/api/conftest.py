"""Fixtures for the JSON API: users, tokens, and a client that sends a bearer token."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client

from api.tokens import token_create


def make_user(email: str) -> Any:
    """A user signed up with `email` (whatever the user model's login field)."""
    user_model = get_user_model()
    fields: dict[str, Any] = {"email": email, "password": "a long passphrase 42"}
    if user_model.USERNAME_FIELD != "email":
        fields[user_model.USERNAME_FIELD] = email.split("@")[0]
    return user_model.objects.create_user(**fields)


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
