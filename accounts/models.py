"""A researcher's preferences: language, time zone, cards and briefing delivery."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def timezone_known(value: str) -> bool:
    """Whether `value` is an IANA time zone name such as Asia/Shanghai."""
    return value in zoneinfo.available_timezones()


def validate_timezone(value: str) -> None:
    """An IANA time zone name such as Asia/Shanghai."""
    if not timezone_known(value):
        raise ValidationError(_("Unknown time zone: %(value)s"), params={"value": value})


class Profile(models.Model):
    """One per user, created on first use (`profile_for`)."""

    class CardLanguage(models.TextChoices):
        ZH = "zh", _("中文")
        EN = "en", _("English")
        BOTH = "both", _("Both")

    class Frequency(models.TextChoices):
        OFF = "off", _("Off")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("interface language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    # A new profile's is set from the interface language it starts with (`profile_for`);
    # "both" is only ever the reader's own choice.
    card_language = models.CharField(
        _("summary language"), max_length=4, choices=CardLanguage.choices, default="en"
    )
    digest_frequency = models.CharField(
        _("briefing email"), max_length=8, choices=Frequency.choices, default="daily"
    )
    delivery_hour = models.PositiveSmallIntegerField(
        _("delivery hour"), default=7, validators=[MinValueValidator(0), MaxValueValidator(23)]
    )
    delivery_weekday = models.PositiveSmallIntegerField(
        _("weekly briefing day"), choices=Weekday.choices, default=Weekday.MONDAY
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"


def card_language_for(language: str | None) -> str:
    """The summary language (of cards and the briefing email) of a reader who has not chosen
    one: Chinese for the Chinese interface, else English (`language`: Django's code)."""
    if (language or "").lower().startswith("zh"):
        return Profile.CardLanguage.ZH
    return Profile.CardLanguage.EN


class SuppressedAddress(models.Model):
    """An address mail must no longer go to: it bounced for good, or its owner reported our
    mail as spam (reported by the mail provider's webhook). Keyed by address, not user: a
    user who changes to a working address gets mail again."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("bounced")
        COMPLAINED = "complained", _("marked as spam")

    email = models.EmailField(_("address"), unique=True)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    # What the provider said (the bounce's diagnostic), for staff.
    detail = models.TextField(_("detail"), blank=True)
    # The provider's event id, so a webhook delivered twice is recorded once.
    event_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
