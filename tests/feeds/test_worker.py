"""Polls run by a real Celery worker: a prefork subprocess, the real Redis broker, the test
database and a feed served on loopback. Workers are killed by PID to prove that a lost poll
is delivered again and stores each paper exactly once."""

from __future__ import annotations

import re
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from academichub.pipeline import source_poll, sources_poll_due
from feeds.models import Paper, PaperSighting, Source
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory
from tests.feeds.feedbuilder import RSS, arxiv_feed, arxiv_item

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FEED = "arxiv-rss-all-archives-2024-11-28.xml"
FEED_ITEMS = 1504
POLL_TIMEOUT = 60


class SlowFirstAnswer:
    """Serves the feed, but holds the first request until released (or 15 s pass)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        self.counting = threading.Lock()
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request) -> Response:
        with self.counting:
            self.requests += 1
            first = self.requests == 1
        if first:
            self.first_arrived.set()
            self.release.wait(15)
        return Response(self.body, content_type=RSS)


def requests_to(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def wait_for_poll_end(source: Source) -> Source:
    """The source once a poll has recorded its outcome (success or failure)."""
    polled = wait_until(
        lambda: Source.objects.filter(id=source.id, checked_at__isnull=False).first(),
        POLL_TIMEOUT,
    )
    assert polled is not None, f"source {source.id} was not polled within {POLL_TIMEOUT} s"
    return polled


def assert_every_paper_stored_once(source: Source) -> None:
    source = wait_for_poll_end(source)
    assert (source.error_count, source.last_error) == (0, ""), source.last_error
    assert source.items_last_time == FEED_ITEMS
    assert source.lease_until is None
    assert Paper.objects.count() == FEED_ITEMS
    assert PaperSighting.objects.filter(source=source).count() == FEED_ITEMS


def test_a_worker_polls_a_source_and_stores_every_paper(
    broker: Broker, start_worker: StartWorker, feed_server: HTTPServer
) -> None:
    feed_server.expect_request("/rss").respond_with_data(fixture_bytes(FEED), content_type=RSS)
    source = SourceFactory.create(url=feed_server.url_for("/rss"))
    broker.send(source_poll, source.id)
    # The message waits in the very queue the worker is about to consume.
    assert broker.client.llen("poll") == 1
    start_worker()
    assert_every_paper_stored_once(source)
    assert requests_to(feed_server, "/rss") == 1


def test_the_beat_task_polls_the_due_source_and_leaves_the_other_alone(
    broker: Broker, start_worker: StartWorker, feed_server: HTTPServer
) -> None:
    for path in ("/due", "/not-due"):
        feed_server.expect_request(path).respond_with_data(
            arxiv_feed(arxiv_item("2411.00001")), content_type=RSS
        )
    now = timezone.now()
    due = SourceFactory.create(
        url=feed_server.url_for("/due"), next_check_at=now - timedelta(minutes=1)
    )
    not_due = SourceFactory.create(
        url=feed_server.url_for("/not-due"), next_check_at=now + timedelta(hours=1)
    )
    worker = start_worker()
    broker.send(sources_poll_due)
    worker.wait_for_log(re.compile(r"sources_poll_due\[\S+\] succeeded in \S+: 1\b"), 30)
    assert wait_for_poll_end(due).last_success_at is not None
    # Nothing else was enqueued: the queue is empty and no message awaits its ack.
    assert wait_until(lambda: broker.waiting() == 0, 10)
    not_due.refresh_from_db()
    assert not_due.checked_at is None
    assert not PaperSighting.objects.filter(source=not_due).exists()
    assert requests_to(feed_server, "/not-due") == 0
    assert requests_to(feed_server, "/due") == 1


def test_a_poll_whose_pool_child_is_killed_runs_again_and_stores_each_paper_once(
    broker: Broker, start_worker: StartWorker, feed_server: HTTPServer
) -> None:
    server = SlowFirstAnswer(fixture_bytes(FEED))
    feed_server.expect_request("/rss").respond_with_handler(server)
    source = SourceFactory.create(url=feed_server.url_for("/rss"))
    worker = start_worker()
    task_id = broker.send(source_poll, source.id)
    worker.wait(server.first_arrived.is_set, 30, "request for the feed")
    # The poll about to be killed holds the source's lease, well into the future.
    source.refresh_from_db()
    assert source.lease_token == task_id
    assert source.lease_until is not None and source.lease_until > timezone.now()

    child = worker.pool_child()
    child.send_signal(signal.SIGKILL)
    worker.wait_for_log(re.compile(r"WorkerLostError"), 10)
    server.release.set()

    # task_reject_on_worker_lost puts the message back; a new child takes it at once.
    assert worker.pool_child(other_than=child.pid).pid != child.pid
    assert_every_paper_stored_once(source)
    assert server.requests == 2


def test_a_poll_whose_whole_worker_is_killed_comes_back_after_the_visibility_timeout(
    broker: Broker, start_worker: StartWorker, feed_server: HTTPServer
) -> None:
    # Just above every other limit (see DEFAULT_ENV), as production orders them: by the time
    # the message comes back, the dead fetch's turn at the host has expired.
    visibility = 23
    env = {"CELERY_VISIBILITY_TIMEOUT": str(visibility)}
    server = SlowFirstAnswer(fixture_bytes(FEED))
    feed_server.expect_request("/rss").respond_with_handler(server)
    source = SourceFactory.create(url=feed_server.url_for("/rss"))
    worker = start_worker(**env)
    broker.send(source_poll, source.id)
    worker.wait(server.first_arrived.is_set, 30, "request for the feed")

    worker.kill()
    server.release.set()
    # No worker holds the message now: it waits in Redis's unacked set, stamped with the
    # time it was handed out, until the visibility timeout has passed.
    [handed_out_at] = broker.handed_out_at()
    assert broker.client.llen("poll") == 0
    time.sleep(max(0.0, handed_out_at + visibility + 0.5 - time.time()))
    # The dead poll's lease outlives the visibility timeout (it is the hard limit + 60 s).
    source.refresh_from_db()
    assert source.lease_until is not None and source.lease_until > timezone.now()

    # A new worker's first sweep of the unacked set puts the message back on the queue; the
    # poll it runs has the dead one's task id, so it takes that lease back.
    start_worker(**env)
    assert_every_paper_stored_once(source)
    assert server.requests == 2
    # The poll is acknowledged; what may still wait is its papers' next stages, each in its
    # own queue: matching, and (no LLM here) their extractive cards.
    assert wait_until(lambda: "feeds.tasks.source_poll" not in broker.waiting_tasks(), 10)
    assert set(broker.waiting_tasks()) <= {
        "radar.tasks.papers_match",
        "digests.tasks.cards_generate",
    }
