"""Which papers get cards, counted from the newest data rather than the clock: without an LLM
every paper of a source's latest days gets an extractive card, even a 2024 sample day; with
one, matched papers first, then the latest days' papers as the budget allows; a rescored
radar hands its matches to the cards at once."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from pytest_django.fixtures import Settings

from digests import llm
from digests.cards import CARD_TOKENS_PLANNED, FILL_SHARE, cards_due, cards_generate
from digests.models import Card
from digests.tasks import cards_generate_on_commit, cards_sweep
from feeds.models import Paper, Source
from radar.models import Radar
from radar.tasks import radar_rescore
from testkit.fake_llm import FakeLLM
from tests.factories import MatchFactory, SourceFactory, make_paper, radar_of

pytestmark = pytest.mark.django_db

SAMPLE_DAY = date(2024, 11, 28)  # the bundled arXiv sample's day, two years before "now"


def queued_cards(redis_client: redis.Redis) -> list[list[int]]:
    """The paper ids of each cards_generate task waiting in the broker (its queue, llm),
    oldest first."""
    messages = [json.loads(raw) for raw in reversed(redis_client.lrange("llm", 0, -1))]
    return [
        json.loads(m["headers"]["argsrepr"].replace("(", "[").replace(",)", "]"))[0]
        for m in messages
        if m["headers"]["task"] == "digests.tasks.cards_generate"
    ]


@pytest.fixture
def journal(db: None) -> Source:
    return SourceFactory.create(slug="journal", kind=Source.Kind.RSS, label="A journal")


def test_without_an_llm_every_paper_of_each_sources_latest_days_gets_an_extractive_card(
    no_llm: Settings,
    arxiv_source: Source,
    journal: Source,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # arXiv's newest day is two years ago, the journal's this summer: each counts from its own.
    sample = [make_paper(arxiv_source, announced=SAMPLE_DAY) for _ in range(3)]
    day_before = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=1))
    weeks_before = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=20))
    journal_day = make_paper(journal, announced=date(2026, 7, 15))
    no_abstract = make_paper(arxiv_source, announced=SAMPLE_DAY, abstract="")
    ids = [p.pk for p in [*sample, day_before, weeks_before, journal_day, no_abstract]]

    with django_capture_on_commit_callbacks(execute=True):
        wanted = cards_generate_on_commit(ids)

    latest = sorted(p.pk for p in [*sample, day_before, journal_day])
    assert wanted == latest
    assert queued_cards(redis_client) == [latest]  # extractive cards: one task for all
    counts = cards_generate(wanted)
    assert counts["extractive"] == len(latest)
    assert set(Card.objects.values_list("paper_id", "status")) == {
        (pk, "extractive") for pk in latest
    }
    assert cards_due() == []


def test_the_sweep_finds_sample_days_the_hand_over_missed(
    no_llm: Settings,
    arxiv_source: Source,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    papers = [make_paper(arxiv_source, announced=SAMPLE_DAY) for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        assert cards_sweep() == 3

    assert queued_cards(redis_client) == [sorted(p.pk for p in papers)]


def test_matched_papers_count_from_their_sources_newest_day_not_from_today(
    llm_settings: Settings, arxiv_source: Source, alice: User
) -> None:
    radar = radar_of(alice)
    sample = make_paper(arxiv_source, announced=SAMPLE_DAY)
    month = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=29))
    too_old = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=45))
    for paper in (sample, month, too_old):
        MatchFactory.create(radar=radar, paper=paper)

    assert cards_due() == [sample.pk, month.pk]
    assert cards_generate_on_commit([sample.pk, month.pk, too_old.pk]) == [sample.pk, month.pk]


def test_with_an_llm_matched_papers_come_first_then_the_latest_day_as_the_budget_allows(
    llm_settings: Settings, arxiv_source: Source, alice: User, redis_client: redis.Redis
) -> None:
    # A budget whose fill share plans two cards.
    llm_settings.LLM_DAILY_TOKEN_BUDGET = int(2 * CARD_TOKENS_PLANNED / FILL_SHARE)
    matched = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=10))
    MatchFactory.create(radar=radar_of(alice), paper=matched)
    replaced = make_paper(arxiv_source, announced=SAMPLE_DAY, announce_type="replace")
    cross = make_paper(arxiv_source, announced=SAMPLE_DAY, announce_type="cross")
    new = [make_paper(arxiv_source, announced=SAMPLE_DAY) for _ in range(2)]
    older = make_paper(arxiv_source, announced=SAMPLE_DAY - timedelta(days=10))

    # The hand-over after matching asks only for the matched paper...
    assert cards_generate_on_commit([p.pk for p in [matched, replaced, cross, *new, older]]) == [
        matched.pk
    ]
    Card.objects.all().delete()
    # ...the sweep adds the latest day's papers, new ones first, as far as the budget goes.
    assert cards_due() == [matched.pk, new[0].pk, new[1].pk]
    llm_settings.LLM_DAILY_TOKEN_BUDGET = int(3 * CARD_TOKENS_PLANNED / FILL_SHARE)
    assert cards_due() == [matched.pk, new[0].pk, new[1].pk, cross.pk]
    # Once the day's spending reaches the fill's share, only matched papers are asked for.
    redis_client.incrby(llm.budget_key(), int(3 * CARD_TOKENS_PLANNED))
    assert cards_due() == [matched.pk]


def test_an_unlimited_budget_fills_the_whole_latest_days(
    llm_settings: Settings, arxiv_source: Source
) -> None:
    papers = [make_paper(arxiv_source, announced=SAMPLE_DAY) for _ in range(3)]
    assert llm_settings.LLM_DAILY_TOKEN_BUDGET == 0

    assert cards_due() == [p.pk for p in papers]
    assert cards_due(limit=2) == [p.pk for p in papers[:2]]


def test_extractive_cards_of_a_sample_day_become_llm_cards_once_an_llm_is_configured(
    no_llm: Settings, fake_llm: FakeLLM, arxiv_source: Source, client: Client
) -> None:
    papers = [make_paper(arxiv_source, announced=SAMPLE_DAY) for _ in range(2)]
    cards_generate(cards_due())
    assert Card.objects.filter(status="extractive").count() == 2
    page = client.get(f"/papers/{papers[0].key}/").content.decode()
    assert "Extractive, no LLM configured" in page

    no_llm.LLM_BASE_URL = fake_llm.base_url
    no_llm.LLM_MODEL = "fake-model"
    no_llm.LLM_DAILY_TOKEN_BUDGET = 0
    out = StringIO()
    call_command("cards", stdout=out)

    assert json.loads(out.getvalue())["done"] == 2
    assert len(fake_llm.card_requests) == 2
    page = client.get(f"/papers/{papers[0].key}/").content.decode()
    assert "Extractive, no LLM configured" not in page
    assert "Written by a language model (fake-model)" in page


def test_a_rescored_radar_hands_its_matches_to_the_cards_at_once(
    llm_settings: Settings,
    arxiv_source: Source,
    alice: User,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    hits = [
        make_paper(arxiv_source, announced=SAMPLE_DAY, title=f"Sparse attention variant {i}")
        for i in range(2)
    ]
    make_paper(arxiv_source, announced=SAMPLE_DAY, title="Protein folding", abstract="Proteins.")
    radar = Radar.objects.create(owner=alice, name="Sparse", include='"sparse attention"')

    with django_capture_on_commit_callbacks(execute=True):
        counts = radar_rescore(radar.pk)  # what the worker runs after the radar was saved

    assert counts is not None and counts["created"] == 2
    assert queued_cards(redis_client) == [sorted(p.pk for p in hits)]
    assert set(Card.objects.values_list("paper_id", "status")) == {(p.pk, "pending") for p in hits}
    assert Paper.objects.count() == 3
