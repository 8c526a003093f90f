"""allauth's hooks for AcademicHub: superusers made on the command line can log in;
account emails name the site after SITE_URL; users are named by their email address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

SITE_NAME = "AcademicHub"


@dataclass(frozen=True)
class PublicSite:
    """What account emails call the site: its name and the host of SITE_URL. Read from
    settings on every mail, so it cannot drift from SITE_URL as a Site row can."""

    name: str
    domain: str

    def __str__(self) -> str:
        return self.domain


def public_site() -> PublicSite:
    """AcademicHub at the host[:port] of settings.SITE_URL (the public address)."""
    return PublicSite(name=SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc or "localhost")


def user_display(user: AbstractBaseUser) -> str:
    """How messages and emails name a user (ACCOUNT_USER_DISPLAY): their email address,
    since accounts sign in by email and the username is one allauth made up."""
    return str(getattr(user, "email", "") or "") or str(user)


# allauth ships no type hints: its adapter is Any to mypy.
class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """The default adapter, plus: a superuser's own address counts as confirmed; mail
    names the public site; the failed-login message in our own words (and with 你)."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": _("The email address or password is not correct."),
    }

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """Check the password; a superuser with no address on record (made by
        `createsuperuser` or the admin, never through sign-up) gets theirs recorded as
        confirmed, so mandatory verification does not wait for a mail to an operator."""
        user = cast(AbstractBaseUser | None, super().authenticate(request, **credentials))
        if user is not None:
            superuser_address_confirm(user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's mail, with `current_site` the public site rather than the Site row."""
        super().send_mail(template_prefix, email, {**context, "current_site": public_site()})


def superuser_address_confirm(user: AbstractBaseUser) -> None:
    """Record a superuser's email as their confirmed primary address, when they have none."""
    email = str(getattr(user, "email", "") or "")
    if not getattr(user, "is_superuser", False) or not email:
        return
    if EmailAddress.objects.filter(user_id=user.pk).exists():
        return
    EmailAddress.objects.create(user=user, email=email.lower(), primary=True, verified=True)
