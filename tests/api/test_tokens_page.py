"""/settings/api/: the owner lists, creates (secret shown once) and revokes their tokens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from api.models import ApiToken
from api.tokens import TOKEN_RE, token_create, token_user
from tests.api.conftest import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]

PAGE = "/settings/api/"
SECRET_IN_HTML = re.compile(r"ah_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def revoke_url(token: ApiToken) -> str:
    return f"/settings/api/{token.id}/revoke/"


@pytest.fixture
def alice_token(alice: Any) -> ApiToken:
    token, _ = token_create(user=alice, name="Zotero sync")
    return token


@pytest.fixture
def alice_browser(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_browser(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def test_the_owner_sees_their_tokens_without_secrets(
    alice_browser: Client, alice_token: ApiToken
) -> None:
    response = alice_browser.get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Zotero sync" in html
    assert f"ah_{alice_token.prefix}_…" in html
    assert "never" in html
    assert alice_token.digest not in html
    assert not SECRET_IN_HTML.search(html)


def test_creating_a_token_shows_it_once_and_it_works(alice: Any, alice_browser: Client) -> None:
    response = alice_browser.post(PAGE, {"name": "laptop script"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secrets_shown = SECRET_IN_HTML.findall(html)
    assert len(set(secrets_shown)) == 1
    secret = secrets_shown[0]
    assert TOKEN_RE.match(secret)
    assert "will not be shown again" in html
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop script"
    assert token_user(secret) == alice
    assert Client(headers=bearer(secret)).get("/api/v1/papers").status_code == 200
    # Reloading the page never shows it again.
    assert not SECRET_IN_HTML.search(alice_browser.get(PAGE).content.decode())


def test_a_too_long_name_creates_nothing(alice: Any, alice_browser: Client) -> None:
    response = alice_browser.post(PAGE, {"name": "x" * 101})

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ApiToken.objects.filter(user=alice).exists()


def test_the_number_of_tokens_is_capped(alice: Any, alice_browser: Client) -> None:
    for n in range(20):
        token_create(user=alice, name=f"t{n}")

    response = alice_browser.post(PAGE, {"name": "one too many"})

    assert "Revoke one to make room" in response.content.decode()
    assert ApiToken.objects.filter(user=alice).count() == 20


def test_the_owner_revokes_a_token(alice_browser: Client, alice: Any) -> None:
    token, secret = token_create(user=alice, name="old")

    response = alice_browser.post(revoke_url(token))

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert Client(headers=bearer(secret)).get("/api/v1/papers").status_code == 401
    assert "Token revoked" in alice_browser.get(PAGE).content.decode()


def test_another_user_neither_sees_nor_revokes_the_token(
    bob_browser: Client, alice_token: ApiToken
) -> None:
    page = bob_browser.get(PAGE)
    response = bob_browser.post(revoke_url(alice_token))

    assert "Zotero sync" not in page.content.decode()
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=alice_token.pk).exists()


def test_revoking_twice_or_by_get_changes_nothing(
    alice_browser: Client, alice_token: ApiToken
) -> None:
    assert alice_browser.get(revoke_url(alice_token)).status_code == 405
    assert ApiToken.objects.filter(pk=alice_token.pk).exists()
    assert alice_browser.post(revoke_url(alice_token)).status_code == 302
    assert alice_browser.post(revoke_url(alice_token)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(alice_token: ApiToken) -> None:
    client = Client()

    page = client.get(PAGE)
    create = client.post(PAGE, {"name": "sneaky"})
    revoke = client.post(revoke_url(alice_token))

    for response in (page, create, revoke):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [alice_token.pk]


def test_create_and_revoke_need_the_csrf_token(alice: Any, alice_token: ApiToken) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    create = client.post(PAGE, {"name": "forged"})
    revoke = client.post(revoke_url(alice_token))

    assert (create.status_code, revoke.status_code) == (403, 403)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["Zotero sync"]


def test_the_forms_carry_the_csrf_token(alice: Any, alice_token: ApiToken) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    html = client.get(PAGE).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert csrf is not None

    created = client.post(PAGE, {"name": "real", "csrfmiddlewaretoken": csrf.group(1)})
    revoked = client.post(revoke_url(alice_token), {"csrfmiddlewaretoken": csrf.group(1)})

    assert (created.status_code, revoked.status_code) == (200, 302)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["real"]
