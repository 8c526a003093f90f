from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.accounts.factories import UserFactory, fresh_client


@pytest.fixture
def client() -> Client:
    """pytest-django's client, but from an address of its own (see `random_ip`)."""
    return fresh_client()


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory.create(name="alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory.create(name="bob")
