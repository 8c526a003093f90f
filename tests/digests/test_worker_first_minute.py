"""End to end with a real Celery worker: a fresh install's samples get extractive cards from
what `demo` enqueues (no beat, no LLM), before matching, and the front page shows them; with
an LLM, an ingest's papers show extractive stand-ins at once and the LLM's cards, asked for
at the ingest in the front page's order, once made; a saved radar's matches get their cards
as soon as it is rescored, not at the next sweep.

Uses the worker tests' Redis database (tests.celery_worker.WORKER_REDIS_DB): run alone."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.db.models import Max
from django.test import Client
from pytest_django.fixtures import Settings
from pytest_httpserver import HTTPServer

from academichub.celery import QUEUES
from academichub.pipeline import source_poll
from digests.cards import LATEST_DAYS
from digests.models import Card
from feeds.models import Paper, Source
from radar.models import Radar
from radar.tasks import radar_rescore
from testkit.fake_llm import FakeLLM
from tests.celery_worker import Broker, StartWorker, Worker
from tests.factories import SourceFactory, UserFactory, make_paper, signed_in
from tests.feeds.feedbuilder import RSS, arxiv_feed, arxiv_item, journal_feed, journal_item

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


# --- With an LLM: summaries on the front page from the first minute ----------------------------

ARXIV_DAY = "Thu, 28 Nov 2024 00:00:00 -0500"  # yesterday's mailing
JOURNAL_DAY = "Fri, 29 Nov 2024 10:00:00 +0000"  # today's three journal papers


def sentences(topic: str) -> str:
    return (
        f"Summarising {topic} is expensive with full attention. We propose a sparse scheme for "
        f"{topic} that keeps a few global tokens. On two benchmarks it matches full attention "
        "with a third of the memory. Sparse attention is therefore a practical default."
    )


def page_cards(html: str) -> list[tuple[str, str, bool]]:
    """The front page's paper cards in order: (title, summary status, whether its TL;DR comes
    before its folded abstract)."""
    found = []
    for body in re.findall(r'<li class="paper-card" id="paper-\d+"(.*?)</li>', html, re.S):
        title = re.search(r'<h2 class="paper-card__title"><a [^>]*>(.*?)</a></h2>', body)
        status = re.search(r'class="llm-card llm-card--(\w+)"', body)
        tldr, fold = body.find("llm-card__tldr"), body.find('<details class="paper-card__fold"')
        found.append(
            (title.group(1) if title else "", status.group(1) if status else "", -1 < tldr < fold)
        )
    return found


def test_with_an_llm_an_ingest_shows_extractive_summaries_at_once_then_the_llms(
    broker: Broker, feed_server: HTTPServer, worker_llm: FakeLLM, tmp_path: Path, client: Client
) -> None:
    # Replacements listed first, as arXiv's mailings do; new papers in two categories.
    arxiv_items = [
        arxiv_item("2411.09001", version=4, announce="replace", title="Replaced v4",
                   abstract=sentences("old things"), pub_date=ARXIV_DAY),
        arxiv_item("2411.09002", title="CL one", abstract=sentences("dialogue"), pub_date=ARXIV_DAY),
        arxiv_item("2411.09003", title="LG one", categories=("cs.LG",),
                   abstract=sentences("graphs"), pub_date=ARXIV_DAY),
        arxiv_item("2411.09004", title="CL two", abstract=sentences("speech"), pub_date=ARXIV_DAY),
        arxiv_item("2411.09005", announce="cross", title="Cross-listed", categories=("cs.AI", "cs.CL"),
                   abstract=sentences("planning"), pub_date=ARXIV_DAY),
    ]  # fmt: skip
    journal_items = [
        journal_item(f"10.1126/science.ad{n}", title=f"Journal {n}",
                     description=sentences(f"journal topic {n}")).replace(
            "Thu, 28 Nov 2024 10:00:00 +0000", JOURNAL_DAY
        )
        for n in range(3)
    ]  # fmt: skip
    feed_server.expect_request("/arxiv").respond_with_data(
        arxiv_feed(*arxiv_items), content_type=RSS
    )
    feed_server.expect_request("/science").respond_with_data(
        journal_feed(*journal_items), content_type=RSS
    )
    arxiv = SourceFactory.create(
        slug="arxiv-cs-first", kind="arxiv_rss", url=feed_server.url_for("/arxiv")
    )
    science = SourceFactory.create(
        slug="science-first", kind="rss", label="Science", url=feed_server.url_for("/science")
    )
    # The model answers only once the test has looked at the page: what it shows before is
    # what readers see in the minutes an LLM's cards take.
    gate = threading.Event()
    answer = worker_llm.default
    worker_llm.default = lambda captured: (gate.wait(45), answer(captured))[1]
    env = {
        "LLM_BASE_URL": worker_llm.base_url,
        "LLM_API_KEY": "sk-test",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT": "50",
        "LLM_DAILY_TOKEN_BUDGET": "1000000",
        "LLM_SUMMARIZE": "matched",
        "LLM_CONCURRENCY": "1",
        "CELERY_TASK_SOFT_TIME_LIMIT": "58",
        "CELERY_TASK_TIME_LIMIT": "60",
        "CELERY_VISIBILITY_TIMEOUT": "120",
    }
    # As the Procfile runs them: one worker for the LLM's queue, one for the rest.
    workers = [
        Worker(tmp_path / f"{queue}.log", broker, env, queues=queues)
        for queue, queues in [("llm", ["llm"]), ("rest", ["poll", "match", "mail"])]
    ]
    try:
        llm_worker, rest_worker = [worker.start(timeout=60) for worker in workers]
        started = time.monotonic()
        broker.send(source_poll, arxiv.pk)  # yesterday's mailing was ingested first
        broker.send(source_poll, science.pk)
        papers = 8
        rest_worker.wait(
            lambda: Card.objects.filter(status="extractive").count() == papers,
            timeout=60,
            what="the extractive stand-ins",
        )
        took = time.monotonic() - started
        assert not Card.objects.filter(status="done").exists()  # the model has not answered

        shown = page_cards(client.get("/").content.decode())
        titles = [title for title, _, _ in shown]
        # Both days, new papers first (the replacement is folded away), every card with an
        # extractive TL;DR before its folded abstract.
        assert titles[:4] == ["Journal 0", "Journal 1", "Journal 2", "CL one"]
        assert {"LG one", "CL two", "Cross-listed"} <= set(titles)
        assert "Replaced v4" not in titles
        assert all(status == "extractive" and first for _, status, first in shown)

        gate.set()
        llm_worker.wait(
            lambda: Card.objects.filter(status="done").count() == papers,
            timeout=120,
            what="the LLM's cards",
        )
        # Asked for at each ingest (no beat here), as the front page reads: the mailing's new
        # papers a category at a time, then the cross-list, then the replacement; then today's.
        asked = [request.paper["title"] for request in worker_llm.card_requests]
        assert asked == [
            "CL one", "LG one", "CL two", "Cross-listed", "Replaced v4",
            "Journal 0", "Journal 1", "Journal 2",
        ]  # fmt: skip
        reader = signed_in(UserFactory.create(name="first-minute"))  # not the visitors' cache
        shown = page_cards(reader.get("/").content.decode())
        assert [title for title, _, _ in shown] == titles
        assert all(status == "done" and first for _, status, first in shown)
        assert "Task digests.tasks.cards_sweep[" not in llm_worker.log() + rest_worker.log()
        print(f"{papers} extractive stand-ins {took:.1f} s after the polls were sent")
    finally:
        gate.set()
        for worker in workers:
            worker.stop()
