"""Writes and reads on profiles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Profile

PROFILE_FIELDS = (
    "language",
    "timezone",
    "card_language",
    "digest_frequency",
    "delivery_hour",
    "delivery_weekday",
)


def profile_for(user: AbstractBaseUser, *, language: str | None = None) -> Profile:
    """The user's profile, created with defaults on first use.

    `language` seeds a new profile (the language the visitor was browsing in when they
    signed up), so signing up in Chinese does not switch the interface back to English.
    """
    defaults: dict[str, Any] = {}
    if language in dict(settings.LANGUAGES):
        defaults["language"] = language
    profile, _ = Profile.objects.get_or_create(user_id=user.pk, defaults=defaults)
    return profile


def profile_update(*, profile: Profile, **fields: Any) -> Profile:
    """Change some of a profile's preferences (validated by the caller's form)."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile preferences: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean(exclude=["user"])
    profile.save(update_fields=list(fields))
    if {"digest_frequency", "card_language"} & set(fields):
        # The briefing email and its language are set here for every radar the user follows
        # (this also turns back on a radar unsubscribed from with the one-click link).
        from radar.models import Subscription  # radar builds on accounts, not the reverse

        Subscription.objects.filter(user_id=profile.user_id).update(
            frequency=profile.digest_frequency, language=profile.card_language
        )
    return profile
