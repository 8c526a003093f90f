"""Following the confirmation link logs in the browser that signed up (not another one),
and an account made with `createsuperuser` logs in without a confirmation email."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, fresh_client

pytestmark = pytest.mark.django_db


def _link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+)", str(message.body))
    assert match, message.body
    return match.group(1)


def _sign_up(client: Client, email: str) -> str:
    """Sign up through the form; the path of the emailed confirmation link."""
    response = client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    (message,) = mail.outbox
    return _link_in(message)


def _logged_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_the_link_logs_in_the_browser_that_signed_up_an_hour_later() -> None:
    browser = fresh_client()
    link = _sign_up(browser, "hana@example.org")
    user = User.objects.get(email="hana@example.org")
    # Reading other pages meanwhile, then the mail an hour later (allauth's own limit for
    # finishing a sign-up is 15 minutes).
    browser.get("/")
    browser.get("/topics/")

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert browser.get(link).status_code == 200
        confirmed = browser.post(link)

        assert confirmed.status_code == 302
        assert confirmed["Location"] == "/"
        assert EmailAddress.objects.get(user=user).verified
        assert _logged_in_as(browser) == str(user.pk)
        assert browser.get("/settings/").status_code == 200


def test_another_browser_confirms_the_address_but_asks_for_the_password() -> None:
    link = _sign_up(fresh_client(), "ivan@example.org")
    user = User.objects.get(email="ivan@example.org")
    phone = fresh_client()

    confirmed = phone.post(link, follow=True)

    # Whoever holds the link (a forwarded mail, a mail scanner) does not get a session.
    assert EmailAddress.objects.get(user=user).verified
    assert _logged_in_as(phone) is None
    assert confirmed.redirect_chain[-1][0].startswith("/accounts/login/")
    page = confirmed.content.decode()
    assert "Your email address ivan@example.org is confirmed." in page
    assert 'name="password"' in page
    # The password logs in at once: the address is confirmed, no second mail.
    mail.outbox.clear()
    response = phone.post("/accounts/login/", {"login": "ivan@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert _logged_in_as(phone) == str(user.pk)
    assert mail.outbox == []


def test_a_createsuperuser_account_logs_in_through_the_login_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command(
        "createsuperuser", "--noinput", username="root", email="root@example.org", verbosity=0
    )
    admin = User.objects.get(username="root")
    assert not EmailAddress.objects.filter(user=admin).exists()
    client = fresh_client()
    form = client.get("/accounts/login/").content.decode()
    assert 'name="login"' in form and 'name="password"' in form

    response = client.post("/accounts/login/", {"login": "root@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_as(client) == str(admin.pk)
    assert mail.outbox == []
    address = EmailAddress.objects.get(user=admin)
    assert (address.email, address.verified, address.primary) == ("root@example.org", True, True)
    assert client.get("/admin/").status_code == 200


def test_a_superuser_with_a_wrong_password_is_not_let_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", username="root", email="root@example.org")
    client = fresh_client()

    response = client.post("/accounts/login/", {"login": "root@example.org", "password": "nope"})

    assert response.status_code == 200
    assert _logged_in_as(client) is None
    assert not EmailAddress.objects.filter(email="root@example.org").exists()


def test_an_ordinary_account_without_a_confirmed_address_still_has_to_confirm() -> None:
    User.objects.create_user(username="jo", email="jo@example.org", password=PASSWORD)
    client = fresh_client()

    response = client.post("/accounts/login/", {"login": "jo@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert _logged_in_as(client) is None
    assert not EmailAddress.objects.filter(email="jo@example.org", verified=True).exists()
