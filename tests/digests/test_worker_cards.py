"""End to end with a real Celery worker: new papers are matched, the matched ones get their
cards from the fake LLM, each with exactly one call; a redelivered match adds no call.

Uses the worker tests' Redis database (tests.celery_worker.WORKER_REDIS_DB): run alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from academichub.pipeline import papers_match
from digests.models import Card
from radar.models import Radar
from testkit.fake_llm import FakeLLM
from tests.celery_worker import Broker, Worker, wait_until
from tests.factories import SourceFactory, UserFactory, make_paper

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def test_a_worker_matches_new_papers_and_makes_their_cards(
    tmp_path: Path, worker_llm: FakeLLM
) -> None:
    owner = UserFactory.create(name="worker-owner")
    Radar.objects.create(owner=owner, name="Sparse", include='"sparse attention"')
    source = SourceFactory.create(slug="arxiv-worker", kind="arxiv_rss")
    hits = [make_paper(source, title=f"Sparse attention variant {i}") for i in range(2)]
    miss = make_paper(source, title="Protein folding", abstract="Proteins fold quickly here.")
    ids = [p.pk for p in [*hits, miss]]

    broker = Broker()
    worker = Worker(
        tmp_path / "worker.log",
        broker,
        {
            "LLM_BASE_URL": worker_llm.base_url,
            "LLM_API_KEY": "sk-test",
            "LLM_MODEL": "fake-model",
            "LLM_TIMEOUT": "5",
            "LLM_DAILY_TOKEN_BUDGET": "0",
            "LLM_SUMMARIZE": "matched",
            "LLM_CONCURRENCY": "2",
        },
    )
    try:
        worker.start(timeout=60)
        broker.send(papers_match, ids)
        worker.wait(
            lambda: Card.objects.filter(status="done").count() == 2,
            timeout=120,
            what="two done cards",
        )
        # The same batch again (a redelivery, a re-poll): matched already, cards done.
        broker.send(papers_match, ids)
        worker.wait(lambda: broker.waiting() == 0, timeout=60, what="an empty queue")
        wait_until(lambda: False, 1.0)  # let a stray second cards task finish, if any
    finally:
        worker.stop()

    assert sorted(Card.objects.values_list("paper_id", flat=True)) == sorted(p.pk for p in hits)
    assert len(worker_llm.card_requests) == 2
    assert sorted(r.paper["title"] for r in worker_llm.card_requests) == sorted(
        p.title for p in hits
    )
    assert "cards_generate" in worker.log()
