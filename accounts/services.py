"""Writes and reads on profiles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from accounts.models import Profile, SuppressedAddress, card_language_for, timezone_known
from accounts.signals import briefing_preferences_changed

PROFILE_FIELDS = (
    "language",
    "timezone",
    "card_language",
    "digest_frequency",
    "delivery_hour",
    "delivery_weekday",
)


# A new profile's time zone by the language the visitor signed up in: a Chinese reader is
# most likely on Beijing time, so the 07:00 briefing arrives at 07:00 rather than 15:00.
DEFAULT_TIMEZONES = {"zh-hans": "Asia/Shanghai"}
_ZONE_LENGTH = Profile._meta.get_field("timezone").max_length or 0


def profile_for(
    user: AbstractBaseUser, *, language: str | None = None, timezone: str | None = None
) -> Profile:
    """The user's profile, created with defaults on first use.

    `language` seeds a new profile (the language the visitor was browsing in when they
    signed up), so signing up in Chinese does not switch the interface back to English;
    it also picks the summary language of cards and the briefing email (Chinese for
    Chinese, English otherwise: "both" is a reader's own choice) and the time zone
    (Asia/Shanghai for Chinese, UTC otherwise) unless `timezone`, a zone name such as the
    browser reports it, is given and known. An existing profile is returned unchanged.
    """
    profile = Profile.objects.filter(user_id=user.pk).first()
    if profile is not None:
        return profile
    defaults: dict[str, Any] = {}
    if language in dict(settings.LANGUAGES):
        defaults["language"] = language
        defaults["card_language"] = card_language_for(language)
        defaults["timezone"] = DEFAULT_TIMEZONES.get(language or "", "UTC")
    if timezone and len(timezone) <= _ZONE_LENGTH and timezone_known(timezone):
        defaults["timezone"] = timezone
    profile, _ = Profile.objects.get_or_create(user_id=user.pk, defaults=defaults)
    return profile


def request_profile(request: HttpRequest) -> Profile:
    """The signed-in user's profile as UserPreferencesMiddleware loaded it for this request
    (no second query, and its cookie check sees changes made to it)."""
    profile = getattr(request, "profile", None)
    if isinstance(profile, Profile):
        return profile
    return profile_for(request.user)  # type: ignore[arg-type]


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
        briefing_preferences_changed.send(sender=Profile, profile=profile)
    return profile


def address_suppress(*, email: str, reason: str, detail: str = "", event_id: str = "") -> bool:
    """Stop mail to `email` (a hard bounce or a spam complaint); returns whether it is new.
    A complaint outranks an earlier bounce; the same event twice is recorded once."""
    address = email.strip().casefold()
    if not address or reason not in SuppressedAddress.Reason.values:
        raise ValueError(f"cannot suppress {email!r} for {reason!r}")
    row, created = SuppressedAddress.objects.get_or_create(
        email=address, defaults={"reason": reason, "detail": detail[:2000], "event_id": event_id}
    )
    if not created and reason == SuppressedAddress.Reason.COMPLAINED and row.reason != reason:
        row.reason, row.detail, row.event_id = reason, detail[:2000], event_id
        row.save(update_fields=["reason", "detail", "event_id"])
    return created
