"""PostgreSQL stopped under a real Celery worker, twice: once while a poll is fetching an
arXiv feed (the first 300 entries of the recorded one: embedding takes most of the time),
once as the extractive card run that follows starts.
With no manual re-run, the tasks retry with back-off and finish once the server is back:
the same papers as a clean ingest of the same bytes, every one carded, the source not
charged an error. A throwaway cluster holding a copy of the test database, stopped with
`pg_ctl -m fast` (open sessions cut, as in a restart)."""

from __future__ import annotations

import contextlib
import re
import threading
import time

import psycopg
import pytest
from django.conf import settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from academichub.pipeline import source_poll
from feeds.models import Paper
from feeds.pipeline.poll import body_ingest
from tests.celery_worker import Broker, StartWorker, wait_until
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory
from tests.faults.servers import ThrowawayPostgres

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FEED = "arxiv-rss-all-archives-2024-11-28.xml"
ENTRIES = 300
# How long the server stays down each time.
OUTAGE = 4.0


def first_entries(body: bytes, n: int) -> bytes:
    """The recorded feed cut to its first `n` items (its channel head and closing tags kept)."""
    items = list(re.finditer(rb"<item\b.*?</item>", body, flags=re.S))
    return (
        body[: items[0].start()] + b"".join(m.group(0) for m in items[:n]) + body[items[-1].end() :]
    )


def query(server: ThrowawayPostgres, sql: str) -> list[tuple[object, ...]] | None:
    """Rows of `sql` on the throwaway copy of the test database; None while it is down."""
    try:
        with psycopg.connect(host=str(server.socket_dir), user="postgres",
                             dbname=settings.DATABASES["default"]["NAME"],
                             connect_timeout=2) as conn:  # fmt: skip
            return conn.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None


def count(server: ThrowawayPostgres, sql: str) -> int:
    """A one-number query's answer (0 while the server is down)."""
    rows = query(server, sql)
    return int(str(rows[0][0])) if rows else 0


def test_tasks_retry_through_a_postgres_restart_and_finish_with_the_papers_of_a_clean_run(
    throwaway_postgres: ThrowawayPostgres,
    broker: Broker,
    start_worker: StartWorker,
    feed_server: HTTPServer,
) -> None:
    body = first_entries(fixture_bytes(FEED), ENTRIES)
    stopped = threading.Event()

    def stop_then_answer(request: Request) -> Response:
        # Down between the fetch and the storing of what it fetched.
        if not stopped.is_set():
            throwaway_postgres.stop()
            stopped.set()
        return Response(body, content_type="application/rss+xml")

    feed_server.expect_request("/rss").respond_with_handler(stop_then_answer)
    source = SourceFactory.create(
        slug="arxiv-restart", kind="arxiv_rss", url=feed_server.url_for("/rss")
    )
    db = settings.DATABASES["default"]
    throwaway_postgres.copy_database(
        db["NAME"], host=str(db["HOST"]), user=str(db["USER"]), port=str(db.get("PORT") or "")
    )
    # The clean ingest of the same bytes, on the test database: what must come out.
    body_ingest(source, body)
    expected = set(Paper.objects.values_list("key", flat=True))
    assert len(expected) == ENTRIES

    worker = start_worker(
        DATABASE_URL=throwaway_postgres.database_url(db["NAME"]),
        LLM_BASE_URL="", LLM_API_KEY="", LLM_SUMMARIZE="matched",
        # The handler stops the server (about a second) before it answers.
        FETCH_DEADLINE="5",
    )  # fmt: skip
    started = time.monotonic()
    broker.send(source_poll, source.id)

    # 1. Down during the ingest: the fetch got its answer, storing it finds no database.
    worker.wait(stopped.is_set, 30, "the feed fetched")
    time.sleep(OUTAGE)
    throwaway_postgres.start()
    first_back = time.monotonic()

    # 2. Down as the card run that follows starts (the worker has taken its task).
    worker.wait_for_log(re.compile(r"cards_generate\[[\w-]+\] received"), 30)
    throwaway_postgres.stop()
    time.sleep(OUTAGE)
    throwaway_postgres.start()
    second_back = time.monotonic()

    cards = "SELECT count(*) FROM digests_card WHERE status = 'extractive'"
    with_abstract = "SELECT count(*) FROM feeds_paper WHERE abstract <> ''"
    embedded = "SELECT count(*) FROM radar_paperembedding"
    done = wait_until(
        lambda: (
            count(throwaway_postgres, cards) == count(throwaway_postgres, with_abstract) > 0
            and count(throwaway_postgres, embedded) == len(expected)
        ),
        45,
    )
    finished = time.monotonic()
    stored = query(throwaway_postgres, "SELECT key FROM feeds_paper") or []
    state = query(
        throwaway_postgres,
        f"SELECT error_count, last_error, lease_until, items_last_time FROM feeds_source "
        f"WHERE id = {source.id}",
    )
    log = worker.log()
    retried = set(re.findall(r"Task ([\w.]+)\[[\w-]+\] retry: Retry in", log))

    assert done, (
        count(throwaway_postgres, cards),
        count(throwaway_postgres, embedded),
        log[-3000:],
    )
    assert {str(row[0]) for row in stored} == expected
    assert len(stored) == len(expected)
    # The database's outage is not the feed's: no error counted, the lease given back.
    assert state == [(0, "", None, ENTRIES)]
    assert {"feeds.tasks.source_poll", "digests.tasks.cards_generate"} <= retried, log[-3000:]
    print(
        f"\n{len(expected)} papers, {count(throwaway_postgres, cards)} extractive cards; "
        f"2 outages of {OUTAGE:.0f} s; retried: "
        f"{sorted(retried)}; done {finished - second_back:.1f} s after the second restart, "
        f"{finished - started:.1f} s in all (first restart at {first_back - started:.1f} s)"
    )
    with contextlib.suppress(Exception):
        worker.stop()
