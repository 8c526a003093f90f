"""POST /language/: a cookie for visitors, the profile for users, never an open redirect."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Profile
from accounts.services import profile_for

pytestmark = pytest.mark.django_db


def test_a_visitor_switches_with_a_cookie(client: Client) -> None:
    response = client.post("/language/", {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies["lang"].value == "zh-hans"
    assert response.cookies["lang"]["samesite"] == "Lax"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-Hans">' in page
    assert Profile.objects.count() == 0


def test_a_visitor_switches_back_to_english(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})

    client.post("/language/", {"language": "en"})

    assert '<html lang="en">' in client.get("/accounts/login/").content.decode()


def test_a_user_switch_is_saved_to_their_profile(client: Client, alice: User, bob: User) -> None:
    client.force_login(alice)

    response = client.post("/language/", {"language": "zh-hans", "next": "/settings/"})

    assert response["Location"] == "/settings/"
    assert response.cookies["lang"].value == "zh-hans"
    assert Profile.objects.get(user=alice).language == "zh-hans"
    assert profile_for(bob).language == "en"
    assert '<html lang="zh-Hans">' in client.get("/settings/").content.decode()


def test_the_profile_wins_over_the_cookie_on_another_device(client: Client, alice: User) -> None:
    profile = profile_for(alice)
    profile.language = "zh-hans"
    profile.save()
    client.cookies["lang"] = "en"
    client.force_login(alice)

    response = client.get("/settings/")

    assert '<html lang="zh-Hans">' in response.content.decode()
    assert response.cookies["lang"].value == "zh-hans"


def test_signing_up_keeps_the_visitors_language(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})
    user = User.objects.create_user("new@example.org", "new@example.org", "pw-long-enough-1")
    client.force_login(user)

    page = client.get("/settings/").content.decode()

    assert Profile.objects.get(user=user).language == "zh-hans"
    assert '<html lang="zh-Hans">' in page


def test_an_unknown_language_falls_back_to_the_default(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.post("/language/", {"language": "xx"})

    assert response.cookies["lang"].value == "en"
    assert Profile.objects.get(user=alice).language == "en"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_it_refuses_an_open_redirect(client: Client, target: str) -> None:
    response = client.post("/language/", {"language": "en", "next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_keeps_a_local_path_with_a_query(client: Client) -> None:
    response = client.post("/language/", {"language": "en", "next": "/search/?q=graph+neural"})

    assert response["Location"] == "/search/?q=graph+neural"


def test_get_is_not_allowed(client: Client) -> None:
    assert client.get("/language/?language=zh-hans").status_code == 405


def test_it_needs_a_csrf_token(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post("/language/", {"language": "zh-hans"})

    assert response.status_code == 403
    assert Profile.objects.filter(user=alice, language="zh-hans").count() == 0
