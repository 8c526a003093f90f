"""The settings form."""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from academichub.openai_client import llm_configured
from accounts.models import Profile
from accounts.services import PROFILE_FIELDS

# Zones readers here are most likely to want, first in the list, with a place name.
COMMON_TIMEZONES = (
    ("Asia/Shanghai", _("China mainland (Beijing time)")),
    ("Asia/Hong_Kong", _("Hong Kong")),
    ("Asia/Taipei", _("Taiwan")),
    ("Asia/Singapore", _("Singapore")),
    ("Asia/Tokyo", _("Japan")),
    ("Europe/London", _("United Kingdom")),
    ("Europe/Berlin", _("Germany")),
    ("America/New_York", _("US Eastern time")),
    ("America/Los_Angeles", _("US Pacific time")),
    ("Australia/Sydney", _("Sydney")),
)


@cache
def canonical_timezones() -> list[str]:
    """The zones a person picks from: tzdata's zone.tab (one name per country and region,
    none of the `backward` aliases such as Asia/Chongqing or Asia/Calcutta), and UTC.
    Without a zone.tab, every name with an area, as before."""
    available = zoneinfo.available_timezones()
    for base in zoneinfo.TZPATH:
        try:
            lines = (Path(base) / "zone.tab").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        names = {
            fields[2]
            for fields in (line.split("\t") for line in lines if not line.startswith("#"))
            if len(fields) >= 3
        }
        if names & available:
            return sorted((names & available) | {"UTC"})
    # Legacy aliases ("posixrules", "Factory", "localtime") are no use to a person.
    return sorted(name for name in available if "/" in name or name == "UTC")


def timezone_choices() -> list[tuple[Any, Any]]:
    """Select options: the common zones first, then every canonical zone, sorted."""
    names = canonical_timezones()
    common = [
        (name, format_lazy("{} — {}", place, name.replace("_", " ")))
        for name, place in COMMON_TIMEZONES
        if name in names
    ]
    every = [(name, name.replace("_", " ")) for name in names]
    return [(_("Common time zones"), common), (_("All time zones"), every)]


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A zone stored before the list was trimmed (an alias such as Asia/Chongqing)
        # stays on offer, so the form still saves for that reader.
        stored = self.instance.timezone if self.instance.pk else ""
        if stored and stored not in canonical_timezones():
            field = self.fields["timezone"]
            assert isinstance(field, forms.ChoiceField)  # nosec: declared above
            field.choices = [*timezone_choices(), (stored, stored.replace("_", " "))]
        if not llm_configured():
            self.fields["card_language"].help_text = _(
                "The language of the AI summaries on paper cards and of your briefing email; "
                "“Both” shows Chinese and English side by side. This site has no language "
                "model set up yet, so its summaries are sentences taken from each abstract, in "
                "the abstract's language; Chinese ones come once its operator sets one up."
            )

    class Meta:
        model = Profile
        fields = list(PROFILE_FIELDS)
        labels = {
            "card_language": _("Summary and briefing language"),
            "digest_frequency": _("Briefing email"),
            "delivery_weekday": _("Day for the weekly briefing"),
        }
        widgets = {
            "card_language": forms.RadioSelect,
            "digest_frequency": forms.RadioSelect,
        }
        help_texts = {
            "card_language": _(
                "The language of the AI summaries on paper cards and of your briefing email; "
                "“Both” shows Chinese and English side by side."
            ),
            "delivery_weekday": _("Used only when the briefing email is weekly."),
        }
