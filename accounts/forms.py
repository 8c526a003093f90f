"""The settings form."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from accounts.services import PROFILE_FIELDS


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA zone name the system knows, sorted, as select options."""
    names = sorted(
        name
        for name in zoneinfo.available_timezones()
        # Legacy aliases ("posixrules", "Factory", "localtime") are no use to a person.
        if "/" in name or name == "UTC"
    )
    return [(name, name.replace("_", " ")) for name in names]


def hour_choices() -> list[tuple[int, str]]:
    """0–23 shown as 00:00–23:00."""
    return [(hour, f"{hour:02d}:00") for hour in range(24)]


class ProfileForm(forms.ModelForm[Profile]):
    """A researcher's preferences; the view hands the cleaned data to `profile_update`."""

    language = forms.ChoiceField(label=_("Interface language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=timezone_choices,
        help_text=_("Dates, times and the delivery hour below are in this zone."),
    )
    delivery_hour = forms.TypedChoiceField(
        label=_("Delivery hour"),
        choices=hour_choices,
        coerce=int,
        help_text=_("Local time at which your briefing email is sent."),
    )

    class Meta:
        model = Profile
        fields = list(PROFILE_FIELDS)
        labels = {
            "card_language": _("Summary language on paper cards"),
            "digest_frequency": _("Briefing email"),
            "delivery_weekday": _("Day for the weekly briefing"),
        }
        widgets = {
            "card_language": forms.RadioSelect,
            "digest_frequency": forms.RadioSelect,
        }
        help_texts = {
            "card_language": _("Show AI summaries in Chinese, English or both."),
            "delivery_weekday": _("Used only when the briefing email is weekly."),
        }
