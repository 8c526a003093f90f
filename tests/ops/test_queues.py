"""Queues that scale apart: every task has a route, some worker of every way of running the
site consumes every queue, and a language model that hangs does not delay polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from academichub.celery import QUEUES, TASK_ROUTES
from academichub.celery import app as celery_app
from academichub.pipeline import source_poll
from digests.models import Card
from digests.tasks import cards_generate
from feeds.models import PaperSighting, Source
from testkit.fake_llm import FakeLLM, Reply
from tests.celery_worker import Broker, Worker
from tests.factories import SourceFactory, make_paper
from tests.feeds.feedbuilder import RSS, arxiv_feed, arxiv_item
from tests.ops.deployment import compose, option, procfile


def registered_tasks() -> set[str]:
    """The app's own tasks (every module Celery autodiscovers), without Celery's built-ins."""
    celery_app.loader.import_default_modules()
    return {name for name in celery_app.tasks if not name.startswith("celery.")}


def test_every_task_is_routed_to_one_of_the_stage_queues() -> None:
    tasks = registered_tasks()
    assert tasks, "no task registered"
    assert sorted(tasks - set(TASK_ROUTES)) == []  # a task here would wait forever
    assert sorted(set(TASK_ROUTES) - tasks) == []  # a route for a task that is gone
    assert set(TASK_ROUTES.values()) == set(QUEUES)
    for name in tasks:
        routed = celery_app.amqp.router.route({}, name)["queue"]
        assert (routed.name, routed.routing_key) == (TASK_ROUTES[name],) * 2, name


def test_the_stages_have_queues_of_their_own() -> None:
    assert TASK_ROUTES["feeds.tasks.source_poll"] == "poll"
    assert TASK_ROUTES["radar.tasks.papers_match"] == "match"
    assert TASK_ROUTES["digests.tasks.cards_generate"] == "llm"
    assert TASK_ROUTES["digests.tasks.deliveries_send"] == "mail"
    assert len(set(QUEUES)) >= 3


def test_a_worker_started_without_queues_consumes_them_all() -> None:
    assert list(celery_app.amqp.queues) == list(QUEUES)


def test_script_run_starts_workers_that_together_consume_every_queue_and_one_beat() -> None:
    processes = procfile()
    workers = [
        argv for argv in processes.values() if argv[:4] == ["celery", "-A", "academichub", "worker"]
    ]
    consumed = [queue for argv in workers for queue in (option(argv, "-Q") or "").split(",")]
    assert sorted(consumed) == sorted(QUEUES)
    # The LLM has a worker of its own, so a hanging model never holds up polling.
    assert ["llm"] in [(option(argv, "-Q") or "").split(",") for argv in workers]
    # Two workers on one host need names of their own.
    assert len({option(argv, "-n") for argv in workers}) == len(workers)
    beats = [argv for argv in processes.values() if "beat" in argv]
    assert len(beats) == 1


def test_compose_consumes_every_queue() -> None:
    services = compose()["services"]
    consumed = {
        option(str(s["command"]).split(), "-Q")
        for s in services.values()
        if " worker " in f" {s.get('command', '')} "
    }
    assert consumed == set(QUEUES)


# --- A stuck LLM queue does not delay polling ------------------------------------------------


@pytest.fixture
def hanging_llm() -> Iterator[FakeLLM]:
    """An OpenAI-compatible server that holds every request for 30 s before answering."""
    server = FakeLLM().start()
    server.default = lambda captured: Reply(delay=30.0)
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_polling_finishes_while_the_llm_worker_is_stuck_on_a_model_that_never_answers(
    own_broker: Broker, hanging_llm: FakeLLM, feed_server: HTTPServer, tmp_path: Path
) -> None:
    feed_server.expect_request("/rss").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001"), arxiv_item("2411.00002")), content_type=RSS
    )
    source = SourceFactory.create(url=feed_server.url_for("/rss"))
    waiting = [make_paper(title=f"A paper waiting for its card {i}") for i in range(2)]
    env = {
        "LLM_BASE_URL": hanging_llm.base_url,
        "LLM_API_KEY": "sk-test",
        "LLM_TIMEOUT": "40",
        "LLM_MAX_RETRIES": "0",
        "LLM_DAILY_TOKEN_BUDGET": "0",
        "LLM_CONCURRENCY": "1",
    }
    workers = [
        Worker(tmp_path / f"{queue}.log", own_broker, env, queues=[queue])
        for queue in ("llm", "poll")
    ]
    try:
        llm_worker, poll_worker = [worker.start(timeout=60) for worker in workers]
        for paper in waiting:
            own_broker.send(cards_generate, [paper.pk])
        # The LLM worker's only process is inside a request the model never answers; the
        # second card's task waits behind it.
        llm_worker.wait(lambda: len(hanging_llm.requests) == 1, 30, "a request to the LLM")
        assert own_broker.queued()["llm"] == 1

        started = time.monotonic()
        own_broker.send(source_poll, source.id)
        poll_worker.wait(
            lambda: Source.objects.filter(id=source.id, last_success_at__isnull=False).exists(),
            20,
            "a finished poll",
        )
        took = time.monotonic() - started
        assert PaperSighting.objects.filter(source=source).count() == 2
        assert took < 10, f"the poll took {took:.1f} s"
        # …while the LLM queue was still stuck (the second card's task still waits; the poll's
        # hand-over may have queued its new papers' cards behind it).
        assert len(hanging_llm.requests) == 1
        assert own_broker.queued()["llm"] >= 1
        assert not Card.objects.filter(paper__in=waiting).exclude(status="pending").exists()
    finally:
        for worker in workers:
            worker.stop()
