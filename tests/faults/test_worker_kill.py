"""A worker killed with SIGKILL in the middle of a ~3,000-paper ingest (two arXiv feeds of
1,504 entries, the second with its own ids): the poll comes back, and the papers stored
are exactly those of a clean ingest of the same bytes, none lost, none twice."""

from __future__ import annotations

import re
import signal

import pytest
from pytest_httpserver import HTTPServer

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


def test_a_worker_killed_mid_ingest_then_run_again_stores_what_a_clean_ingest_stores(
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

    for path, body in bodies.items():
        feed_server.expect_request(path).respond_with_data(body, content_type="application/xml")
    sources = [SourceFactory.create(url=feed_server.url_for(path)) for path in bodies]
    worker = start_worker()
    child = worker.pool_child()
    for source in sources:
        broker.send(source_poll, source.id)
    # Killed once the first poll is writing its papers.
    worker.wait(lambda: Paper.objects.exists(), 60, "the first papers stored")
    at_kill = Paper.objects.count()
    child.send_signal(signal.SIGKILL)

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
    assert done, list(Source.objects.values("id", "items_last_time", "last_error"))
    assert at_kill < len(expected)
    assert stored() == expected
    assert Paper.objects.count() == len(expected)
    assert [PaperSighting.objects.filter(source=s).count() for s in sources] == sightings
    print(f"\nkill -9 at {at_kill} of {len(expected)} papers; after the re-run {len(stored())}")
