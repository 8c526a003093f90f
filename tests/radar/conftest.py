"""Fixtures of the radar tests: a real day of papers that went through the embedding stage."""

from __future__ import annotations

import pytest

from academichub.pipeline import papers_match
from feeds.models import Paper, Source
from feeds.pipeline.poll import body_ingest
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory


@pytest.fixture
def nature_day(db: None) -> dict[str, str]:
    """A real Nature feed polled on an install without radars, through the embedding stage;
    its papers' keys by title."""
    source = SourceFactory.create(slug="nature", kind=Source.Kind.RSS, label="Nature")
    summary = body_ingest(source, fixture_bytes("nature-rss-2024-07-18.rdf"))
    papers_match(summary.changed_ids)
    return dict(Paper.objects.values_list("title", "key"))
