"""The beat's matching sweep (`academichub.pipeline.papers_match_sweep`): papers stored lately
whose hand-over to matching was lost (stored here without it, as when Redis was away at the
end of their poll) are embedded and matched by a real worker once the sweep runs, so the
radar's feed shows them; embedded papers, papers older than the window and papers past the
limit are not handed on."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from academichub import pipeline
from academichub.celery import MATCH
from academichub.celery import app as celery_app
from academichub.pipeline import MATCH_SWEEP_GRACE, MATCH_SWEEP_WINDOW, papers_match_sweep
from feeds.models import Paper, Source
from radar import matching
from radar.models import Match, PaperEmbedding, Radar
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.factories import SourceFactory, make_paper, make_radar, signed_in
from tests.pages import card_titles

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sweep_sends_to_broker(broker: Broker) -> Iterator[Broker]:
    """Sweeps run in this process send their tasks to the worker's queue (`broker`), as the
    beat's do in production: Celery's producer pool is made again for its URL, and again for
    the old one after the test (as tests/faults/test_redis_enqueue.py does)."""
    before = celery_app.conf.broker_url

    def point_at(url: str) -> None:
        app = cast(Any, celery_app)  # the private pools have no stubs
        celery_app.conf["broker_url"] = url
        app._after_fork()  # forgets the connection and producer pools, as a forked child does

    point_at(broker.url)
    yield broker
    point_at(before)


@pytest.fixture
def radar(alice: User) -> Radar:
    """Alice's radar on prompt injection (stored directly: no rescore finds papers for it)."""
    return make_radar(alice)


@pytest.fixture
def source() -> Source:
    return SourceFactory.create(slug="arxiv-sweep")


def lost(source: Source, title: str, **fields: Any) -> Paper:
    """A paper stored as a poll stores it (a while ago: past the sweep's grace), whose
    hand-over to matching never happened."""
    fields.setdefault("created_at", timezone.now() - MATCH_SWEEP_GRACE - timedelta(minutes=5))
    return make_paper(source, title=title, **fields)


def queued_match_batches(broker: Broker) -> list[list[int]]:
    """The paper ids of each `papers_match` message waiting in the match queue, sorted."""
    batches = []
    for raw in broker.client.lrange(MATCH, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "radar.tasks.papers_match", message["headers"]
        args = json.loads(base64.b64decode(message["body"]))[0]
        batches.append(sorted(args[0]))
    return sorted(batches)


def embedded_ids() -> set[int]:
    return set(PaperEmbedding.objects.values_list("paper_id", flat=True))


def matched_ids(radar: Radar) -> set[int]:
    return set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True))


def drained(broker: Broker) -> bool:
    """Wait until the worker has acknowledged every message (matching and its cards)."""
    return bool(wait_until(lambda: broker.waiting() == 0, 120))


def test_papers_whose_hand_over_was_lost_are_matched_by_the_sweep_and_shown_in_the_feed(
    broker: Broker, start_worker: StartWorker, alice: User, radar: Radar, source: Source
) -> None:
    hits = [
        lost(source, "Defending LLM agents against prompt injection in tool outputs"),
        lost(source, "Prompt injection through retrieved web pages"),
    ]
    other = lost(source, "Protein folding with equivariant networks")
    feed = signed_in(alice)
    assert card_titles(feed.get(f"/radars/{radar.pk}/").content.decode()) == []
    assert embedded_ids() == set()

    # The beat's tick: the sweep goes through the queue to a real worker, which runs it and
    # then the matching it hands on.
    broker.send(papers_match_sweep)
    worker = start_worker()

    assert wait_until(lambda: matched_ids(radar) == {p.pk for p in hits}, 120), (
        f"the lost papers were not matched within 120 s; worker log:\n{worker.log()[-3000:]}"
    )
    assert drained(broker), broker.waiting_tasks()
    # Every lost paper is embedded, matching or not (a new radar's preview needs them).
    assert embedded_ids() == {*(p.pk for p in hits), other.pk}
    assert re.search(r"papers_match_sweep\[[^]]+\] succeeded in [\d.]+s: 3\b", worker.log())
    shown = card_titles(feed.get(f"/radars/{radar.pk}/").content.decode())
    assert sorted(shown) == sorted(p.title for p in hits)


def test_embedded_papers_are_not_handed_on_and_a_second_sweep_hands_on_nothing(
    sweep_sends_to_broker: Broker, start_worker: StartWorker, radar: Radar, source: Source
) -> None:
    broker = sweep_sends_to_broker
    handed_on = [
        lost(source, "Prompt injection benchmarks for browsing agents"),
        lost(source, "Sparse attention for long documents"),
    ]
    matching.papers_match([p.pk for p in handed_on])  # their hand-over went through
    assert matched_ids(radar) == {handed_on[0].pk}
    missed = lost(source, "Detecting prompt injection with a canary token")

    assert papers_match_sweep() == 1
    assert queued_match_batches(broker) == [[missed.pk]]

    start_worker()
    assert wait_until(lambda: missed.pk in matched_ids(radar), 120), "the missed paper unmatched"
    assert drained(broker), broker.waiting_tasks()
    assert embedded_ids() == {*(p.pk for p in handed_on), missed.pk}

    assert matched_ids(radar) == {handed_on[0].pk, missed.pk}

    # Everything is embedded now: the next tick sends nothing.
    assert papers_match_sweep() == 0
    assert broker.waiting() == 0


def test_papers_stored_before_the_window_are_left_alone(
    sweep_sends_to_broker: Broker, start_worker: StartWorker, radar: Radar, source: Source
) -> None:
    broker = sweep_sends_to_broker
    now = timezone.now()
    old = lost(
        source,
        "An old survey of prompt injection",
        created_at=now - MATCH_SWEEP_WINDOW - timedelta(hours=1),
    )
    recent = lost(
        source,
        "A recent defence against prompt injection",
        created_at=now - MATCH_SWEEP_WINDOW + timedelta(hours=1),
    )

    assert papers_match_sweep() == 1
    assert queued_match_batches(broker) == [[recent.pk]]

    start_worker()
    assert wait_until(lambda: matched_ids(radar) == {recent.pk}, 120), "the recent one unmatched"
    assert drained(broker), broker.waiting_tasks()
    assert embedded_ids() == {recent.pk}
    assert old.pk not in matched_ids(radar)
    assert papers_match_sweep() == 0


def test_a_paper_stored_moments_ago_is_left_to_its_own_hand_over(
    sweep_sends_to_broker: Broker, source: Source
) -> None:
    # Its hand-over may still wait in the match queue behind a large day: a sweep every ten
    # minutes sending it again would grow the queue while the worker catches up.
    broker = sweep_sends_to_broker
    now = timezone.now()
    just_stored = lost(source, "Prompt injection in email assistants", created_at=now)
    assert papers_match_sweep() == 0
    assert broker.waiting() == 0
    # Still unembedded once the grace is over: its hand-over was lost, the sweep sends it.
    Paper.objects.filter(pk=just_stored.pk).update(
        created_at=now - MATCH_SWEEP_GRACE - timedelta(minutes=1)
    )
    assert papers_match_sweep() == 1
    assert queued_match_batches(broker) == [[just_stored.pk]]


def test_a_sweep_hands_on_at_most_its_limit_and_the_next_one_the_rest(
    sweep_sends_to_broker: Broker,
    start_worker: StartWorker,
    radar: Radar,
    source: Source,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real limit (5000) is too many papers to embed in a test; the rule is the same.
    monkeypatch.setattr(pipeline, "MATCH_SWEEP_LIMIT", 3)
    broker = sweep_sends_to_broker
    papers = [lost(source, f"Prompt injection attack number {i}") for i in range(5)]
    ids = [p.pk for p in papers]

    assert papers_match_sweep() == 3
    assert queued_match_batches(broker) == [ids[:3]]  # the oldest first

    start_worker()
    assert wait_until(lambda: embedded_ids() == set(ids[:3]), 120), "the first three unembedded"
    assert drained(broker), broker.waiting_tasks()
    assert matched_ids(radar) == set(ids[:3])

    assert papers_match_sweep() == 2
    assert wait_until(lambda: matched_ids(radar) == set(ids), 120), "the last two unmatched"
    assert drained(broker), broker.waiting_tasks()
    assert embedded_ids() == set(ids)
    assert papers_match_sweep() == 0
