"""The sources offered in the filters and the radar form can be told apart: the bundled
sample feeds (not polled) beside the live ones of the same name read "Nature", "Nature"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from feeds.selectors import filter_choices
from radar.forms import RadarForm
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def _sources() -> None:
    SourceFactory.create(slug="nature", label="Nature", kind="rss", enabled=True)
    SourceFactory.create(slug="sample-nature", label="Nature", kind="rss", enabled=False)
    SourceFactory.create(slug="science", label="Science", kind="rss", enabled=False)


def test_a_disabled_source_sharing_a_name_is_named_as_disabled() -> None:
    _sources()
    choices = dict(filter_choices().sources)
    assert choices["nature"] == "Nature"
    assert choices["sample-nature"] == "Nature (disabled)"
    assert choices["science"] == "Science"  # no twin: its name alone
    with translation.override("zh-hans"):
        assert dict(filter_choices().sources)["sample-nature"] == "Nature（已停用）"


def test_the_radar_form_offers_the_same_names(client: Client) -> None:
    _sources()
    field = RadarForm().fields["sources"]
    assert ("sample-nature", "Nature (disabled)") in field.choices  # type: ignore[attr-defined]
    assert ("nature", "Nature") in field.choices  # type: ignore[attr-defined]
