"""A worker killed with SIGKILL in the middle of a task of a ~3,000-paper ingest (two arXiv
feeds of 1,504 entries, the second with its own ids): the second poll is killed while it is
fetching (the feed server has sent half its body and holds the rest), is delivered again,
fetches its feed again, and the papers stored are exactly those of a clean ingest of the
same bytes, none lost, none twice."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from academichub.pipeline import source_poll
from feeds.models import Paper, PaperSighting, Source
from feeds.pipeline.poll import body_ingest
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FEED = "arxiv-rss-all-archives-2024-11-28.xml"


def other_ids(body: bytes) -> bytes:
    """The same feed with every arXiv id moved to another year (papers of its own)."""
    return re.sub(rb"(?<![\d.])\d{2}(\d{2})\.(\d{4,5})(?!\d)", rb"19\1.\2", body)


def stored() -> set[tuple[str, str]]:
    return set(Paper.objects.values_list("key", "title"))


class HeldFeed:
    """Serves `body` at once, except the first time: then half of it, and the rest only
    once the test lets go, so the poll's task is in the middle of its fetch."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        self.asked_at: list[float] = []  # time.monotonic() of each request
        self.half_sent = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request) -> Response:
        self.requests += 1
        self.asked_at.append(time.monotonic())
        if self.requests > 1:
            return Response(self.body, content_type="application/xml")

        def drip() -> Iterator[bytes]:
            half = len(self.body) // 2
            yield self.body[:half]
            # werkzeug asks for the next chunk once the first is written to the socket.
            self.half_sent.set()
            self.release.wait(30)
            yield self.body[half:]

        return Response(drip(), content_type="application/xml")


def test_a_worker_killed_mid_fetch_then_run_again_stores_what_a_clean_ingest_stores(
    broker: Broker, start_worker: StartWorker, feed_server: HTTPServer
) -> None:
    bodies = {"/a": fixture_bytes(FEED), "/b": other_ids(fixture_bytes(FEED))}
    # The clean ingest, in this process, of the same bytes: what must come out.
    clean = [SourceFactory.create(slug=f"clean-{n}") for n in range(2)]
    for source, body in zip(clean, bodies.values(), strict=True):
        body_ingest(source, body)
    expected = stored()
    sightings = [PaperSighting.objects.filter(source=s).count() for s in clean]
    assert len(expected) > 3000
    Paper.objects.all().delete()
    Source.objects.all().delete()

    asked = {"/a": 0}

    def first(request: Request) -> Response:
        asked["/a"] += 1
        return Response(bodies["/a"], content_type="application/xml")

    held = HeldFeed(bodies["/b"])
    feed_server.expect_request("/a").respond_with_handler(first)
    feed_server.expect_request("/b").respond_with_handler(held)
    sources = [SourceFactory.create(url=feed_server.url_for(path)) for path in bodies]
    worker = start_worker()
    child = worker.pool_child()
    for source in sources:
        broker.send(source_poll, source.id)
    # Killed while the second poll waits for the rest of its feed: the task has claimed its
    # source, holds the host's turn and is unacknowledged.
    worker.wait(held.half_sent.is_set, 90, "the second feed half sent")
    child.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    at_kill = Paper.objects.count()
    second = Source.objects.get(id=sources[1].id)
    assert second.lease_until is not None and second.items_last_time != 1504
    assert len(broker.handed_out_at()) == 1  # the poll's message, not acknowledged
    held.release.set()

    # The lost poll is delivered again (reject_on_worker_lost) to the new pool child.
    worker.pool_child(other_than=child.pid)
    done = wait_until(
        lambda: (
            Source.objects.filter(id__in=[s.id for s in sources], items_last_time=1504)
            .exclude(lease_until__isnull=False)
            .count()
            == 2
        ),
        90,
    )
    finished_in = time.monotonic() - killed_at
    assert done, list(Source.objects.values("id", "items_last_time", "last_error"))
    # The first feed was whole before the kill; the second feed none of its papers.
    assert at_kill == sightings[0]
    assert (asked["/a"], held.requests) == (1, 2)  # the interrupted feed fetched again
    assert stored() == expected
    assert Paper.objects.count() == len(expected)  # none twice
    assert [PaperSighting.objects.filter(source=s).count() for s in sources] == sightings
    assert Source.objects.filter(error_count__gt=0).count() == 0
    print(
        f"\nkill -9 mid-fetch of the second feed at {at_kill} of {len(expected)} papers; "
        f"fetched again {held.asked_at[1] - killed_at:.1f} s after the kill; "
        f"after the re-run {len(stored())}, done {finished_in:.1f} s after the kill"
    )
