"""The account settings in academichub/settings.py itself (not as the tests override them)."""

from __future__ import annotations

from urllib.parse import urlsplit

from allauth.account import app_settings as allauth_settings
from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.contrib.sites.models import Site


def test_allauth_fills_usernames_and_signs_in_from_the_emailed_link() -> None:
    # Django's User has a unique username: allauth must fill it (from the email), or the
    # second sign-up fails; and the emailed link must sign in from any browser.
    assert allauth_settings.USER_MODEL_USERNAME_FIELD == "username"
    assert allauth_settings.LOGIN_ON_EMAIL_CONFIRMATION is True


def test_passwords_are_hashed_with_argon2() -> None:
    assert get_hasher("default").algorithm == "argon2"


def test_the_site_is_named_after_site_url(db: None) -> None:
    site = Site.objects.get(id=1)

    assert site.domain == urlsplit(settings.SITE_URL).netloc
    assert site.name == "AcademicHub"
