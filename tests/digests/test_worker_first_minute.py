"""End to end with a real Celery worker: a fresh install's samples get extractive cards from
what `demo` enqueues (no beat, no LLM), before matching, and the front page shows them; a
saved radar's matches get their cards as soon as it is rescored, not at the next sweep.

Uses the worker tests' Redis database (tests.celery_worker.WORKER_REDIS_DB): run alone."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.db.models import Max
from django.test import Client
from pytest_django.fixtures import Settings

from academichub.celery import QUEUES
from digests.cards import LATEST_DAYS
from digests.models import Card
from feeds.models import Paper, Source
from radar.models import Radar
from radar.tasks import radar_rescore
from testkit.fake_llm import FakeLLM
from tests.celery_worker import Broker, StartWorker
from tests.factories import SourceFactory, UserFactory, make_paper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NO_LLM = {"LLM_BASE_URL": "", "LLM_API_KEY": "", "LLM_SUMMARIZE": "matched"}


@pytest.fixture
def worker_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def test_a_fresh_install_shows_extractive_cards_on_the_sample_days(
    broker: Broker,
    start_worker: StartWorker,
    client: Client,
    no_llm: Settings,
    redis_client: redis.Redis,
) -> None:
    call_command("demo", stdout=StringIO())
    # What `demo` enqueued (in the app's Redis database), moved as it is to this test's broker:
    # the extractive cards in the LLM queue (they need no matching), matching in its own.
    queued = {queue: redis_client.lrange(queue, 0, -1) for queue in QUEUES}
    tasks = {q: {json.loads(raw)["headers"]["task"] for raw in queued[q]} for q in QUEUES}
    assert tasks["llm"] == {"digests.tasks.cards_generate"}
    assert tasks["match"] == {"radar.tasks.papers_match"}
    for queue, messages in queued.items():
        if messages:
            broker.client.rpush(queue, *messages)
    latest: set[int] = set()
    for source in Source.objects.filter(slug__startswith="sample-"):
        carried = Paper.objects.filter(sightings__source=source).exclude(abstract="")
        newest = carried.aggregate(day=Max("announced"))["day"]
        since = newest - timedelta(days=LATEST_DAYS - 1)
        latest |= set(carried.filter(announced__gte=since).values_list("id", flat=True))
    assert len(latest) > 1500  # the arXiv day (1,504), Nature's last days, bioRxiv's day

    started = time.monotonic()
    worker = start_worker(**NO_LLM)
    worker.wait(
        lambda: Card.objects.filter(status="extractive").count() >= len(latest),
        timeout=600,
        what=f"{len(latest)} extractive cards",
    )
    took = time.monotonic() - started
    worker.wait(lambda: broker.waiting() == 0, timeout=600, what="an empty queue (matched)")

    made = set(Card.objects.values_list("paper_id", flat=True))
    assert made == latest
    assert not Card.objects.exclude(status="extractive").exists()
    print(f"{len(made)} extractive cards {took:.0f} s after the worker was started")
    # The front page's papers all show their card, labelled as extractive (all that have an
    # abstract to extract from).
    page = client.get("/").content.decode()
    shown = [int(pk) for pk in re.findall(r'<li class="paper-card" id="paper-(\d+)"', page)]
    with_abstract = set(
        Paper.objects.filter(id__in=shown).exclude(abstract="").values_list("id", flat=True)
    )
    assert len(with_abstract) >= len(shown) - 2 > 0
    assert {int(pk) for pk in re.findall(r'id="llm-card-(\d+)"', page)} == with_abstract
    assert page.count("llm-card llm-card--extractive") == len(with_abstract)
    assert page.count("Extractive, no LLM configured") == len(with_abstract)


def test_a_rescored_radar_gets_the_cards_of_its_matches_without_waiting_for_the_sweep(
    broker: Broker, start_worker: StartWorker, worker_llm: FakeLLM
) -> None:
    owner = UserFactory.create(name="radar-saver")
    source = SourceFactory.create(slug="arxiv-radar-save", kind="arxiv_rss")
    hits = [make_paper(source, title=f"Sparse attention variant {i}") for i in range(3)]
    make_paper(source, title="Protein folding", abstract="Proteins fold quickly here.")
    radar = Radar.objects.create(owner=owner, name="Sparse", include='"sparse attention"')
    worker = start_worker(
        LLM_BASE_URL=worker_llm.base_url,
        LLM_API_KEY="sk-test",
        LLM_MODEL="fake-model",
        LLM_TIMEOUT="5",
        LLM_DAILY_TOKEN_BUDGET="1000000",
        LLM_SUMMARIZE="matched",
        LLM_CONCURRENCY="2",
    )

    # What saving the radar enqueues (radar.services: radar_rescore once the save commits).
    broker.send(radar_rescore, radar.pk)
    worker.wait(
        lambda: Card.objects.filter(status="done").count() == len(hits),
        timeout=120,
        what="the matches' cards",
    )
    worker.wait(lambda: broker.waiting() == 0, timeout=60, what="an empty queue")

    assert sorted(Card.objects.values_list("paper_id", flat=True)) == [p.pk for p in hits]
    assert sorted(r.paper["title"] for r in worker_llm.card_requests) == [p.title for p in hits]
    assert "Task digests.tasks.cards_generate[" in worker.log()
    assert "Task digests.tasks.cards_sweep[" not in worker.log()
