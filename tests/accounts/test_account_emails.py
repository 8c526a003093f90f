"""What account emails (sign-up confirmation, password reset) say: the site as readers know
it (AcademicHub at the host of SITE_URL, whatever the Site row holds), in either language."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.sites.models import Site
from django.core import mail
from pytest_django.fixtures import Settings

from tests.factories import PASSWORD, fresh_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_address(settings: Settings) -> str:
    """SITE_URL on another port than the Site row names (a row written at migrate time
    with an older SITE_URL)."""
    settings.SITE_URL = "http://localhost:8124"
    Site.objects.filter(id=settings.SITE_ID).update(domain="localhost:8000", name="example.com")
    Site.objects.clear_cache()
    return "localhost:8124"


def _sign_up(email: str, language: str = "en") -> mail.EmailMessage:
    client = fresh_client()
    client.cookies["lang"] = language
    client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def _reset(user: User, language: str = "en") -> mail.EmailMessage:
    client = fresh_client()
    client.cookies["lang"] = language
    client.post("/accounts/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def test_the_confirmation_email_names_the_public_site(public_address: str) -> None:
    message = _sign_up("carol@example.org")

    body = str(message.body)
    assert public_address in body
    assert "AcademicHub" in body
    assert "localhost:8000" not in body
    assert "example.com" not in body


def test_the_password_reset_email_names_the_public_site(public_address: str, alice: User) -> None:
    message = _reset(alice)

    body = str(message.body)
    assert public_address in body
    assert "AcademicHub" in body
    assert "localhost:8000" not in body
    assert "example.com" not in body
