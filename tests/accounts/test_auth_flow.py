"""Sign-up, verification, log in/out, password reset and change, email change (allauth)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD, fresh_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another long passphrase 77"


def _link_in(message: mail.EmailMessage) -> str:
    """The path of the first link back to this site in a mail body."""
    match = re.search(r"https?://[^/\s]+(/[^\s]+)", str(message.body))
    assert match, message.body
    return match.group(1)


def _signup(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )


def test_it_signs_up_verifies_by_email_and_logs_in(client: Client) -> None:
    response = _signup(client, "carol@example.org")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="carol@example.org")
    assert user.password.startswith("argon2")
    assert not EmailAddress.objects.get(user=user).verified
    # Mandatory verification: not logged in yet.
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert "Confirm your email address" in page.content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.org"]
    assert message.subject.startswith("[AcademicHub]")
    link = _link_in(message)
    confirm_page = client.get(link)
    assert confirm_page.status_code == 200
    assert "carol@example.org" in confirm_page.content.decode()

    confirmed = client.post(link)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/settings/").status_code == 200


def test_two_people_can_sign_up(client: Client) -> None:
    _signup(client, "dave@example.org")
    _signup(client, "erin@example.org")

    assert set(User.objects.values_list("email", flat=True)) >= {
        "dave@example.org",
        "erin@example.org",
    }


def test_it_refuses_a_weak_password(client: Client) -> None:
    response = _signup(client, "frank@example.org", password="password")

    assert response.status_code == 200
    assert not User.objects.filter(email="frank@example.org").exists()
    assert 'class="errorlist' in response.content.decode()
    assert mail.outbox == []


def test_an_unverified_user_cannot_log_in(client: Client) -> None:
    _signup(client, "gina@example.org")
    mail.outbox.clear()
    client.logout()

    response = client.post("/accounts/login/", {"login": "gina@example.org", "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    # allauth re-sends the link at most once per 3 minutes (ACCOUNT_RATE_LIMITS).
    assert mail.outbox == []


def test_it_logs_in_with_email_and_password(client: Client, alice: User) -> None:
    response = client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_login_rotates_the_session_key(client: Client, alice: User) -> None:
    session = client.session
    session["marker"] = "x"
    session.save()
    before = client.cookies["sessionid"].value

    client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})

    assert client.cookies["sessionid"].value != before


def test_a_wrong_password_is_refused(client: Client, alice: User) -> None:
    response = client.post("/accounts/login/", {"login": alice.email, "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'class="errorlist' in response.content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_login_never_redirects_off_site(client: Client, alice: User, target: str) -> None:
    response = client.post(
        "/accounts/login/", {"login": alice.email, "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_follows_a_local_next(client: Client, alice: User) -> None:
    response = client.post(
        "/accounts/login/", {"login": alice.email, "password": PASSWORD, "next": "/saved/"}
    )

    assert response["Location"] == "/saved/"


def test_repeated_failures_lock_the_account_even_with_the_right_password(alice: User) -> None:
    # login_failed: "5/5m/key" per account; a new address each time defeats only the per-IP
    # part, and allauth ignores X-Forwarded-For unless a proxy count is configured.
    for attempt in range(5):
        attacker = fresh_client()
        attacker.post(
            "/accounts/login/",
            {"login": alice.email, "password": f"guess {attempt}"},
            headers={"X-Forwarded-For": f"192.0.2.{attempt}"},
        )

    owner = fresh_client()
    response = owner.post(
        "/accounts/login/",
        {"login": alice.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in owner.session
    assert "Too many failed login attempts" in response.content.decode()


def test_the_sixth_failure_from_one_address_is_limited(client: Client, alice: User) -> None:
    for attempt in range(5):
        client.post("/accounts/login/", {"login": alice.email, "password": f"guess {attempt}"})

    response = client.post("/accounts/login/", {"login": alice.email, "password": "guess 6"})

    assert "Too many failed login attempts" in response.content.decode()


def test_signups_from_one_address_are_rate_limited(client: Client) -> None:
    # "signup": "20/h/ip"
    for n in range(20):
        client.post("/accounts/signup/", {"email": f"flood{n}@example.org", "password1": "x"})

    response = client.post(
        "/accounts/signup/",
        {"email": "flood-last@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not User.objects.filter(email="flood-last@example.org").exists()


def test_logout_asks_then_ends_the_session(client: Client, alice: User) -> None:
    client.force_login(alice)

    page = client.get("/accounts/logout/")
    response = client.post("/accounts/logout/")

    assert page.status_code == 200
    assert "Are you sure you want to log out?" in page.content.decode()
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_logout_never_redirects_off_site(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.post("/accounts/logout/", {"next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_a_password_reset_link_by_email_sets_a_new_password(client: Client, alice: User) -> None:
    response = client.post("/accounts/password/reset/", {"email": alice.email})

    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    link = _link_in(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link

    done = client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert alice.password.startswith("argon2")
    assert "Your password is now changed." in client.get(done["Location"]).content.decode()


def test_password_reset_for_an_unknown_address_reveals_nothing(client: Client) -> None:
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})

    # The same answer as for a real account; the mail says there is no such account.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1
    assert "there is no account with this address" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[0].body


def test_a_used_reset_link_no_longer_works(client: Client, alice: User) -> None:
    client.post("/accounts/password/reset/", {"email": alice.email})
    link = _link_in(mail.outbox[0])
    form_page = client.get(link, follow=True)
    action = form_page.redirect_chain[-1][0]
    client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = fresh_client().get(link, follow=True)

    assert "This link no longer works" in again.content.decode()


def test_password_change_keeps_this_session_and_ends_the_others(alice: User) -> None:
    here, elsewhere = fresh_client(), fresh_client()
    here.force_login(alice)
    elsewhere.force_login(alice)

    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert here.get("/settings/").status_code == 200
    assert elsewhere.get("/settings/").status_code == 302


def test_password_change_needs_the_old_password(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_changing_email_adds_confirms_and_makes_primary(client: Client, alice: User) -> None:
    client.force_login(alice)

    added = client.post("/accounts/email/", {"action_add": "", "email": "alice.new@example.org"})

    assert added.status_code == 302
    new = EmailAddress.objects.get(user=alice, email="alice.new@example.org")
    assert not new.verified
    assert mail.outbox[-1].to == ["alice.new@example.org"]
    client.post(_link_in(mail.outbox[-1]))
    new.refresh_from_db()
    assert new.verified

    client.post("/accounts/email/", {"action_primary": "", "email": "alice.new@example.org"})
    client.post("/accounts/email/", {"action_remove": "", "email": alice.email})

    alice.refresh_from_db()
    assert alice.email == "alice.new@example.org"
    assert list(EmailAddress.objects.filter(user=alice).values_list("email", flat=True)) == [
        "alice.new@example.org"
    ]
    page = client.get("/accounts/email/").content.decode()
    assert "alice.new@example.org" in page
    assert "Primary" in page


def test_email_management_only_touches_the_requesters_addresses(
    client: Client, alice: User, bob: User
) -> None:
    client.force_login(bob)

    client.post("/accounts/email/", {"action_remove": "", "email": alice.email})
    client.post("/accounts/email/", {"action_primary": "", "email": alice.email})
    page = client.get("/accounts/email/").content.decode()

    assert EmailAddress.objects.filter(user=alice, email=alice.email, primary=True).exists()
    assert alice.email not in page
