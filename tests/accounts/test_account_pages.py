"""Every allauth page renders in our layout, in both languages, within the CSP."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

VISITOR_PAGES = {
    "/accounts/login/": "Log in",
    "/accounts/signup/": "Sign up",
    "/accounts/password/reset/": "Reset your password",
    "/accounts/password/reset/done/": "Check your email",
    "/accounts/confirm-email/": "Confirm your email address",
    "/accounts/confirm-email/not-a-key/": "This confirmation link has expired or is invalid.",
    "/accounts/password/reset/key/1-bad/": "This link no longer works",
    "/accounts/inactive/": "Account inactive",
}
USER_PAGES = {
    "/accounts/logout/": "Are you sure you want to log out?",
    "/accounts/email/": "Email addresses",
    "/accounts/password/change/": "Change password",
}


def _assert_in_layout(html: str) -> None:
    assert 'class="site-header"' in html
    assert "<h1>" in html
    # The CSP allows no inline style attributes and no inline scripts.
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.parametrize("url,text", VISITOR_PAGES.items())
def test_visitor_pages_render(client: Client, url: str, text: str) -> None:
    response = client.get(url, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert text in html
    _assert_in_layout(html)


@pytest.mark.parametrize("url,text", USER_PAGES.items())
def test_user_pages_render_for_the_owner(client: Client, alice: User, url: str, text: str) -> None:
    client.force_login(alice)

    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert text in html
    _assert_in_layout(html)


@pytest.mark.parametrize("url", ["/accounts/email/", "/accounts/password/change/"])
def test_user_pages_send_a_visitor_to_log_in(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_email_page_lists_only_the_owners_addresses(
    client: Client, alice: User, bob: User
) -> None:
    client.force_login(alice)

    html = client.get("/accounts/email/").content.decode()

    assert alice.email in html
    assert bob.email not in html


@pytest.mark.parametrize("url", [*VISITOR_PAGES, "/settings/", "/saved/"])
def test_pages_render_in_chinese(client: Client, alice: User, url: str) -> None:
    if url in ("/settings/", "/saved/"):
        client.force_login(alice)
    client.post("/language/", {"language": "zh-hans"})

    response = client.get(url, follow=True)

    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in response.content.decode()


def test_login_errors_are_shown_next_to_the_form(client: Client, alice: User) -> None:
    html = client.post("/accounts/login/", {"login": alice.email, "password": "no"}).content
    text = html.decode()

    assert "errorlist" in text
    assert 'name="login"' in text
    assert 'value="' + alice.email + '"' in text


def test_the_login_page_offers_the_reset_link_once_and_a_plain_remember_me(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()

    assert html.count("Forgot your password?") == 1
    assert "Remember Me" not in html
    assert re.search(r'<label for="id_remember">Remember me</label>\s*<input type="checkbox"', html)


def test_chinese_form_labels_end_in_a_full_width_colon(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})

    html = client.get("/accounts/login/").content.decode()
    labels = re.findall(r"<label[^>]*>([\s\S]*?)</label>", html)

    assert labels
    assert not [label for label in labels if label.rstrip().endswith(":")], labels
    assert any(label.rstrip().endswith("：") for label in labels), labels
    assert html.count("忘记密码") == 1, html
