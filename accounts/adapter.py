"""allauth's hooks for AcademicHub: superusers made on the command line can log in."""

from __future__ import annotations

from typing import Any, cast

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


# allauth ships no type hints: its adapter is Any to mypy.
class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """The default adapter, plus: a superuser's own address counts as confirmed."""

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """Check the password; a superuser with no address on record (made by
        `createsuperuser` or the admin, never through sign-up) gets theirs recorded as
        confirmed, so mandatory verification does not wait for a mail to an operator."""
        user = cast(AbstractBaseUser | None, super().authenticate(request, **credentials))
        if user is not None:
            superuser_address_confirm(user)
        return user


def superuser_address_confirm(user: AbstractBaseUser) -> None:
    """Record a superuser's email as their confirmed primary address, when they have none."""
    email = str(getattr(user, "email", "") or "")
    if not getattr(user, "is_superuser", False) or not email:
        return
    if EmailAddress.objects.filter(user_id=user.pk).exists():
        return
    EmailAddress.objects.create(user=user, email=email.lower(), primary=True, verified=True)
