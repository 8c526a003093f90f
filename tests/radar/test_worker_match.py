"""Matching run by a real Celery worker: a poll stores papers, then a chained task embeds
and scores them against the radars, once per (radar, paper), even for a replacement."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_httpserver import HTTPServer

from academichub.pipeline import source_poll
from feeds.models import Paper, Source
from radar.models import Match, PaperEmbedding, Radar
from radar.reasons import reasons_text
from radar.scoring import DEFAULT_THRESHOLD, W_TITLE
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.factories import SourceFactory
from tests.feeds.feedbuilder import RSS, arxiv_feed, arxiv_item

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

JAILBREAK = arxiv_item(
    "2411.00001",
    title="Universal jailbreak suffixes for aligned language models",
    abstract="We find adversarial suffixes that make chat models ignore their safety training.",
)
INJECTION = arxiv_item(
    "2411.00002",
    title="Defending LLM agents against indirect prompt injection",
    abstract="Tool outputs carry instructions; we filter them before the agent acts.",
    creator="Grace Hopper",
)
FOLDING = arxiv_item(
    "2411.00003",
    title="Protein folding with equivariant networks",
    abstract="We predict structures from sequences.",
    categories=("q-bio.BM",),
)


def matched_keys(radar: Radar) -> set[str]:
    return set(Match.objects.filter(radar=radar).values_list("paper__key", flat=True))


def test_a_worker_matches_newly_polled_papers_once_and_not_again_after_a_replacement(
    broker: Broker,
    start_worker: StartWorker,
    feed_server: HTTPServer,
    alice: User,
) -> None:
    radar = Radar.objects.create(
        owner=alice,
        name="LLM security",
        description="attacks on large language models",
        include='jailbreak OR "prompt injection"',
        threshold=DEFAULT_THRESHOLD,
    )
    quiet = Radar.objects.create(owner=alice, name="off", include="protein", active=False)
    feed_server.expect_ordered_request("/rss").respond_with_data(
        arxiv_feed(JAILBREAK, INJECTION, FOLDING), content_type=RSS
    )
    source = SourceFactory.create(url=feed_server.url_for("/rss"))
    broker.send(source_poll, source.id)
    start_worker()

    assert wait_until(lambda: len(matched_keys(radar)) == 2, 120), "no matches within 120 s"
    assert matched_keys(radar) == {"2411.00001", "2411.00002"}
    assert matched_keys(quiet) == set()
    # Embedded once each, by the worker, for the radar's similarity part.
    assert PaperEmbedding.objects.count() == 3
    jailbreak = Match.objects.get(radar=radar, paper__key="2411.00001")
    assert reasons_text(jailbreak.reasons)[0] == f"title contains 'jailbreak': +{W_TITLE:.0f}"
    first_seen = jailbreak.created_at

    # The same paper comes back as a replacement (v2): updated, not matched a second time.
    feed_server.expect_ordered_request("/rss").respond_with_data(
        arxiv_feed(
            arxiv_item(
                "2411.00001",
                version=2,
                announce="replace",
                title="Universal jailbreak suffixes for aligned language models (revised)",
                abstract="We find adversarial suffixes that make chat models ignore safety.",
            )
        ),
        content_type=RSS,
    )
    Source.objects.filter(id=source.id).update(next_check_at=timezone.now())
    broker.send(source_poll, source.id)
    assert wait_until(lambda: Paper.objects.filter(key="2411.00001", version=2).exists(), 60), (
        "the replacement was not stored"
    )
    time.sleep(3)  # time for the chained matching task to run (it must change nothing)
    assert wait_until(lambda: broker.waiting() == 0, 60)
    assert Match.objects.filter(radar=radar).count() == 2
    assert Match.objects.get(radar=radar, paper__key="2411.00001").created_at == first_seen
