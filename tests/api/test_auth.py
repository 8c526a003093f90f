"""Bearer tokens: every endpoint needs one; revoked, malformed and foreign ones get 401."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from api.models import ApiToken
from api.tokens import TOKEN_RE, token_create, token_revoke, token_user
from tests.api.conftest import bearer
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/papers", "/api/v1/papers?q=attention", "/api/v1/papers/10.1234/some.doi"]


@pytest.fixture(autouse=True)
def _a_paper() -> None:
    PaperFactory.create(key="10.1234/some.doi", title="Attention")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_answers_a_valid_token(api_client: Client, path: str) -> None:
    response = api_client.get(path)

    assert response.status_code == 200
    assert "10.1234/some.doi" in response.content.decode()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_token(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_revoked_token(alice: Any, alice_secret: str, path: str) -> None:
    token = ApiToken.objects.get(user=alice)
    assert token_revoke(user=alice, token_id=token.id)

    response = Client(headers=bearer(alice_secret)).get(path)

    assert response.status_code == 401
    assert not ApiToken.objects.filter(user=alice).exists()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ah_0000000_not-a-token",
        "Bearer ah_deadbeef_" + "A" * 43,  # well formed, never issued
        "Token {secret}",  # another scheme
        "Bearer {secret}x",  # one character too many
        "{secret}",  # no scheme at all
    ],
)
def test_it_refuses_malformed_and_unknown_tokens(alice_secret: str, header: str) -> None:
    response = Client(headers={"Authorization": header.format(secret=alice_secret)}).get(
        "/api/v1/papers"
    )

    assert response.status_code == 401


def test_a_deactivated_users_token_stops_working(alice: Any, api_client: Client) -> None:
    alice.is_active = False
    alice.save()

    assert api_client.get("/api/v1/papers").status_code == 401


def test_only_a_digest_of_the_token_is_stored(alice: Any) -> None:
    token, secret = token_create(user=alice, name="notebook")

    assert TOKEN_RE.match(secret)
    assert secret.startswith(f"ah_{token.prefix}_")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in {str(value) for value in row.values()}
    assert row["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    assert token_user(secret) == alice
    assert token_user(secret[:-1] + ("B" if secret[-1] != "B" else "C")) is None


def test_two_tokens_of_one_user_are_different(alice: Any) -> None:
    _, first = token_create(user=alice, name="a")
    _, second = token_create(user=alice, name="a")

    assert first != second
    assert token_user(first) == token_user(second) == alice


def test_last_used_is_written_at_most_once_a_minute(alice: Any, alice_secret: str) -> None:
    client = Client(headers=bearer(alice_secret))
    start = datetime(2026, 11, 23, 12, 0, 10, tzinfo=UTC)
    token = ApiToken.objects.get(user=alice)
    assert token.last_used_at is None

    with time_machine.travel(start, tick=False):
        client.get("/api/v1/papers")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get("/api/v1/papers")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get("/api/v1/papers")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)
