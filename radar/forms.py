"""The radar form: the page's fields, validated by `radar.services.radar_clean`."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from feeds.models import Source
from feeds.selectors import source_choices
from radar.models import Radar
from radar.scoring import DEFAULT_THRESHOLD
from radar.services import THRESHOLD_RANGE, UNDERSTOOD, radar_clean
from radar.understanding import understood_for

LIST_FIELDS = ("exclude", "authors", "examples")


class RangeInput(forms.NumberInput):
    """A slider (`<input type="range">`)."""

    input_type = "range"


def _lines(value: list[str]) -> str:
    return "\n".join(value)


class RadarForm(forms.Form):
    """Create or edit a radar; `clean()` hands everything to `radar_clean`.

    Fields are optional here so every message, even for a missing name, is the service's
    (the API says the same words). After `is_valid()`, `radar_fields` is the cleaned dict
    for `radar_create` / `radar_update`.
    """

    name = forms.CharField(
        label=_("Name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 120, "autocomplete": "off"}),
        help_text=_(
            "A short name, shown in your list of radars and in your briefings, e.g. Protein design."
        ),
    )
    description = forms.CharField(
        label=_("Your interest"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "A few sentences in plain language, in any language: a Chinese description "
            "also finds English papers. Papers close in meaning are matched."
        ),
    )
    include = forms.CharField(
        label=_("Include query"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            'Words and "quoted phrases" to look for in titles and abstracts. Combine them '
            "with AND, OR and NOT (upper case) and parentheses; words side by side mean AND. "
            "NOT binds tightest, then AND, then OR: "
            '"prompt injection" OR jailbreak NOT survey reads as '
            '"prompt injection" OR (jailbreak AND NOT survey).'
        ),
    )
    exclude = forms.CharField(
        label=_("Exclude phrases"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line. A paper containing any of them is never shown."),
    )
    categories = forms.CharField(
        label=_("Categories"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "Optional: only papers in these categories, e.g. cs.CL, q-bio.GN or "
            "neuroscience, separated by commas. Leave empty for all."
        ),
    )
    sources = forms.MultipleChoiceField(
        label=_("Sources"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional: only papers from these feeds. None ticked means all."),
    )
    authors = forms.CharField(
        label=_("Followed authors"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One name per line, as written on papers (e.g. Jane Doe): a paper by one of "
            "them scores high. Typing a name in “Start from papers you like” shows their "
            "recent papers and a button to follow them."
        ),
    )
    examples = forms.CharField(
        label=_("Example papers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_(
            "One arXiv id (2411.01234) or DOI (10.1101/…) per line: papers like these are "
            "matched. “Start from papers you like” fills this in for you; you can also paste "
            "ids here."
        ),
    )
    threshold = forms.CharField(
        label=_("Minimum score"),
        required=False,
        initial=f"{DEFAULT_THRESHOLD:g}",
        widget=RangeInput(
            attrs={"step": "5", "min": f"{THRESHOLD_RANGE[0]:g}", "max": f"{THRESHOLD_RANGE[1]:g}"}
        ),
        help_text=_(
            "Each match scores 0–100: closeness in meaning, your description's words, phrases "
            "in the title or abstract and followed authors add up. Slide right for fewer, "
            "closer matches, left for more, broader ones; 40 suits most radars."
        ),
    )
    public = forms.BooleanField(
        label=_("Publish as a public topic"),
        required=False,
        help_text=_(
            "Anyone can then find it under Topics and follow it. Your feedback and email "
            "address stay private."
        ),
    )

    # The English profile ("understood as …", `radar.understanding`): saved as the owner's
    # only when changed here, so an untouched form leaves the LLM's profile the LLM's.
    understood_text = forms.CharField(
        label=_("Understood as (in English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Your interest in one to three English sentences, as papers would put it. "
            "Matched next to your description; leave empty to let the language model write it."
        ),
    )
    understood_keywords = forms.CharField(
        label=_("English keywords"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Up to 12 English words or short phrases, separated by commas."),
    )

    def __init__(self, *args: Any, radar: Radar | None = None, **kwargs: Any) -> None:
        if radar is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(radar)
        super().__init__(*args, **kwargs)
        chosen = set(radar.sources) if radar is not None else set()
        choices = source_choices(list(Source.objects.values_list("slug", "label", "enabled")))
        known = {slug for slug, _label in choices}
        # A source removed since keeps its tick, so saving the form does not drop it silently.
        choices += [(slug, slug) for slug in sorted(chosen - known)]
        sources = self.fields["sources"]
        assert isinstance(sources, forms.MultipleChoiceField)
        sources.choices = choices
        self.radar_fields: dict[str, Any] = {}

    @staticmethod
    def initial_for(radar: Radar) -> dict[str, Any]:
        """The form's starting values for an existing radar."""
        return {
            "name": radar.name,
            "description": radar.description,
            "include": radar.include,
            "exclude": _lines(radar.exclude),
            "categories": ", ".join(radar.categories),
            "sources": list(radar.sources),
            "authors": _lines(radar.authors),
            "examples": _lines(radar.examples),
            "threshold": f"{radar.threshold:g}",
            "public": radar.public,
            **_understood_initial(radar),
        }

    def service_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The form's values in the shape `radar_clean` reads (lists split from the text)."""
        data = {name: cleaned.get(name, "") for name in ("name", "description", "include")}
        for name in LIST_FIELDS:
            data[name] = cleaned.get(name) or ""
        # Category names may contain spaces ("cancer biology"): split on commas and lines.
        data["categories"] = [
            c for c in re.split(r"[,;\n\r，；]+", cleaned.get("categories") or "") if c.strip()
        ]
        data["sources"] = list(cleaned.get("sources") or [])
        data["threshold"] = (cleaned.get("threshold") or "").strip() or f"{DEFAULT_THRESHOLD:g}"
        data["public"] = bool(cleaned.get("public"))
        if {"understood_text", "understood_keywords"} & set(self.changed_data):
            data[UNDERSTOOD] = {
                "text": cleaned.get("understood_text") or "",
                "keywords": cleaned.get("understood_keywords") or "",
            }
        return data

    def clean(self) -> dict[str, Any]:
        """Validate everything through `radar_clean`, so messages are the services' ones."""
        cleaned = super().clean() or {}
        try:
            self.radar_fields = radar_clean(self.service_data(cleaned))
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and UNDERSTOOD in exc.error_dict:
                # The service's name for the pair of fields the page shows.
                exc.error_dict["understood_keywords"] = exc.error_dict.pop(UNDERSTOOD)
            self.add_error(None, exc)
        return cleaned

    def preview_fields(self) -> tuple[dict[str, Any], list[str]]:
        """The current values for a live preview, and the messages that stop one.

        Validated like a save but partially: a missing name or an empty definition is not
        an error while the user is still typing.
        """
        # Bound fields clean themselves (e.g. unknown sources) without running `clean()`.
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, field in self.fields.items():
            try:
                values[name] = field.clean(self[name].data)
            except ValidationError as exc:
                problems += exc.messages
        data = self.service_data(values)
        data.pop("name")
        try:
            return radar_clean(data, partial=True), problems
        except ValidationError as exc:
            return {}, problems + exc.messages


def _understood_initial(radar: Radar) -> dict[str, str]:
    """The profile fields' starting values: the profile that describes the radar now."""
    understood = understood_for(radar)
    if understood is None:
        return {"understood_text": "", "understood_keywords": ""}
    return {
        "understood_text": understood.text,
        "understood_keywords": ", ".join(understood.keywords),
    }
