"""Which papers get cards, counted from the newest data rather than the clock: without an LLM
every paper of a source's latest days gets an extractive card, even a 2024 sample day; with
one, matched papers first, then the latest days' papers as the budget allows; a rescored
radar hands its matches to the cards at once."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from pytest_django.fixtures import Settings

from academichub.pipeline import papers_ingested_on_commit
from digests import llm
from digests.cards import (
    CARD_TOKENS_PLANNED,
    FILL_SHARE,
    cards_due,
    cards_fill,
    cards_generate,
    fill_allowance,
)
from digests.models import Card
from digests.tasks import cards_generate_on_commit, cards_stand_in, cards_sweep
from feeds.models import Paper, Source
from radar.models import Radar
from radar.tasks import radar_rescore
from testkit.fake_llm import FakeLLM
from tests.factories import (
    ABSTRACT,
    MatchFactory,
    SourceFactory,
    UserFactory,
    arxiv_paper,
    arxiv_source,
    card_for,
    journal_paper,
    journal_source,
    make_paper,
    radar_of,
    signed_in,
)

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

    # In the front page's order: the newest day first.
    latest = [p.pk for p in [journal_day, *sample, day_before]]
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


# --- With an LLM: stand-ins at once, LLM cards as the front page reads -------------------------

NEXT_DAY = SAMPLE_DAY + timedelta(days=1)


def page_cards(html: str) -> list[tuple[int, str]]:
    """The front page's paper cards in order: (paper id, its summary's status or "")."""
    cards = re.findall(r'<li class="paper-card" id="paper-(\d+)"(.*?)</li>', html, re.S)
    found = []
    for paper_id, body in cards:
        status = re.search(r'class="llm-card llm-card--(\w+)"', body)
        found.append((int(paper_id), status.group(1) if status else ""))
    return found


def tldr_first(html: str, paper_id: int) -> bool:
    """Whether the paper's card shows a TL;DR, before its folded abstract."""
    card = re.search(rf'id="paper-{paper_id}"(.*?)</li>', html, re.S)
    assert card is not None
    body = card.group(1)
    fold = body.find('<details class="paper-card__fold"')
    return "llm-card__tldr" in body and -1 < body.index("llm-card__tldr") < fold


@pytest.fixture
def mailing_and_journal(db: None) -> dict[str, list[Paper]]:
    """Yesterday's arXiv mailing (replacements listed, so stored, first; two categories, a
    cross-list) and three journal papers today."""
    arxiv = arxiv_source()
    replaced = [
        arxiv_paper(arxiv, title=f"Replaced v{n}", announce_type="replace", version=n,
                    abstract=ABSTRACT, announced=SAMPLE_DAY)
        for n in (3, 4)
    ]  # fmt: skip
    new = [
        arxiv_paper(arxiv, title=title, primary_category=category, abstract=ABSTRACT,
                    announced=SAMPLE_DAY)
        for title, category in [("CL one", "cs.CL"), ("LG one", "cs.LG"), ("CL two", "cs.CL")]
    ]  # fmt: skip
    cross = [
        arxiv_paper(arxiv, title="Cross-listed", announce_type="cross", primary_category="cs.AI",
                    abstract=ABSTRACT, announced=SAMPLE_DAY)
    ]  # fmt: skip
    science = journal_source()
    journal = [
        journal_paper(science, title=f"Journal {n}", doi=f"10.1126/science.{n}",
                      abstract=ABSTRACT, announced=NEXT_DAY)
        for n in range(3)
    ]  # fmt: skip
    return {"replaced": replaced, "new": new, "cross": cross, "journal": journal}


def test_with_an_llm_an_ingest_shows_stand_ins_at_once_then_the_llms_cards_first_papers_first(
    llm_settings: Settings,
    fake_llm: FakeLLM,
    mailing_and_journal: dict[str, list[Paper]],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
    client: Client,
) -> None:
    # A budget whose fill share plans four cards.
    llm_settings.LLM_DAILY_TOKEN_BUDGET = int(4 * CARD_TOKENS_PLANNED / FILL_SHARE)
    papers = mailing_and_journal
    cl_one, lg_one, cl_two = papers["new"]
    ids = [p.pk for p in Paper.objects.order_by("id")]

    with django_capture_on_commit_callbacks(execute=True):
        papers_ingested_on_commit(ids)

    # Stand-ins first in the match queue (ahead of the papers' matching), all of them...
    match_queue = [json.loads(raw) for raw in reversed(redis_client.lrange("match", 0, -1))]
    assert [m["headers"]["task"] for m in match_queue] == [
        "digests.tasks.cards_stand_in",
        "radar.tasks.papers_match",
    ]
    # ...and, at once, the LLM cards the budget's fill allows, as the front page reads: the
    # newest day first, then yesterday's new papers, a category at a time.
    asked = [p.pk for p in [*papers["journal"], cl_one]]
    assert [pid for task in queued_cards(redis_client) for pid in task] == asked
    assert set(Card.objects.values_list("paper_id", "status")) == {(pk, "pending") for pk in asked}

    # The stand-ins' task (what the match queue's worker runs): every card has a TL;DR.
    cards_stand_in(ids)
    html = client.get("/").content.decode()
    shown = page_cards(html)
    assert [pid for pid, _ in shown[:4]] == asked  # the first paper is a new one
    assert {status for _, status in shown} == {"extractive"}
    assert all(tldr_first(html, pid) for pid, _ in shown)
    assert "Extractive, sentences from the abstract" in html
    assert "Extractive, no LLM configured" not in html

    # The LLM's cards, once made, are shown instead, on the page's first cards.
    for task in queued_cards(redis_client):
        cards_generate(task)
    assert len(fake_llm.card_requests) == len(asked)
    reader = signed_in(UserFactory.create(name="morning-reader"))  # not the visitors' cached page
    html = reader.get("/").content.decode()
    shown = page_cards(html)
    assert shown[:4] == [(pk, "done") for pk in asked]
    assert {status for _, status in shown[4:]} == {"extractive"}
    assert all(tldr_first(html, pid) for pid, _ in shown)
    assert "Written by a language model (fake-model)" in html
    # What the budget's fill has left (the four cards cost less than planned) goes on, in the
    # same order, at the next sweep.
    assert cards_due() == [lg_one.pk, cl_two.pk]


def test_the_sweep_asks_for_matches_then_the_newest_and_new_papers_first(
    llm_settings: Settings,
    mailing_and_journal: dict[str, list[Paper]],
    alice: User,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    papers = mailing_and_journal
    matched = papers["replaced"][0]
    MatchFactory.create(radar=radar_of(alice), paper=matched)
    cl_one, lg_one, cl_two = papers["new"]
    in_order = [matched, *papers["journal"], cl_one, lg_one, cl_two, *papers["cross"]]
    in_order += [papers["replaced"][1]]

    assert cards_due() == [p.pk for p in in_order]
    assert cards_due(limit=5) == [p.pk for p in in_order[:5]]

    # A budget whose fill share plans three cards: the sweep asks for those (and the match),
    # in that order, and makes their pending cards, so the next sweep, with nothing made yet,
    # asks for the same cards again and for no more.
    llm_settings.LLM_DAILY_TOKEN_BUDGET = int(3 * CARD_TOKENS_PLANNED / FILL_SHARE)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            cards_sweep()
        queued = [pid for task in queued_cards(redis_client) for pid in task]
        assert queued == [p.pk for p in in_order[:4]]
        redis_client.delete("llm")
    assert Card.objects.filter(status="pending").count() == 4


def test_with_an_llm_the_sweep_makes_the_stand_ins_a_lost_hand_over_missed(
    llm_settings: Settings,
    mailing_and_journal: dict[str, list[Paper]],
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    older = arxiv_paper(title="Older", abstract=ABSTRACT, announced=SAMPLE_DAY - timedelta(days=9))
    latest = Paper.objects.exclude(pk=older.pk)
    made = card_for(latest.get(title="Journal 0"))  # an LLM card: no stand-in needed

    with django_capture_on_commit_callbacks(execute=True):
        cards_sweep()

    match_queue = [json.loads(raw) for raw in redis_client.lrange("match", 0, -1)]
    assert [m["headers"]["task"] for m in match_queue] == ["digests.tasks.cards_stand_in"]
    cards_stand_in(list(latest.values_list("id", flat=True)) + [older.pk])
    assert set(Card.objects.filter(status="extractive").values_list("paper_id", flat=True)) == set(
        latest.exclude(pk=made.paper_id).values_list("id", flat=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        cards_sweep()
    assert redis_client.llen("match") == 1  # nothing more to stand in


def test_an_ingest_asks_for_no_llm_card_while_the_budget_counter_is_away(
    llm_settings: Settings, mailing_and_journal: dict[str, list[Paper]]
) -> None:
    llm_settings.LLM_DAILY_TOKEN_BUDGET = 1_000_000
    ids = [p.pk for p in Paper.objects.all()]
    assert cards_fill(ids)  # the counter answers: the latest days' cards are asked for
    Card.objects.all().delete()

    llm_settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    assert fill_allowance() == 0
    assert cards_fill(ids) == []  # the hand-over goes on; the sweep asks once it is back
    assert not Card.objects.exists()
