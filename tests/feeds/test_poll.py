"""Polling a source end to end: a local HTTP server, the real fetcher, the real database."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from feeds.models import Paper, Source
from feeds.pipeline.poll import source_poll, sources_due
from feeds.sources.base import ErrorKind
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory
from tests.feeds.feedbuilder import arxiv_feed, arxiv_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_fetch")]

RSS = "application/rss+xml"


def arxiv_source(httpserver: HTTPServer, **fields: Any) -> Source:
    return SourceFactory.create(url=httpserver.url_for("/rss/cs.CL"), **fields)


def seed_one_paper(httpserver: HTTPServer, source: Source) -> None:
    httpserver.expect_oneshot_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001")), content_type=RSS
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert Paper.objects.count() == 1


def test_a_poll_stores_the_papers_and_records_success(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml"),
        content_type=RSS,
        headers={"ETag": '"abc"', "Cache-Control": "max-age=7200"},
    )
    summary = source_poll(source.id, force=True)
    assert summary is not None and summary.created == 1504
    source.refresh_from_db()
    assert (source.error_count, source.last_error, source.items_last_time) == (0, "", 1504)
    assert source.etag == '"abc"'
    # The feed's own max-age (2 h) beats our 1 h interval.
    expected = timezone.now() + timedelta(hours=2)
    assert abs((source.next_check_at - expected).total_seconds()) < 30
    assert source.lease_until is None


def test_a_304_writes_no_paper(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver, etag='"v1"')
    seen_headers: list[str] = []

    def not_modified(request: Request) -> Response:
        seen_headers.append(request.headers.get("If-None-Match", ""))
        return Response(status=304)

    httpserver.expect_request("/rss/cs.CL").respond_with_handler(not_modified)
    with CaptureQueriesContext(connection) as queries:
        source_poll(source.id, force=True)
    assert seen_headers == ['"v1"']
    assert not [q for q in queries if "feeds_paper" in q["sql"]]
    source.refresh_from_db()
    assert source.error_count == 0 and source.checked_at is not None


@pytest.mark.parametrize(
    ("retry_after", "expected_delay"),
    [("120", timedelta(seconds=120)), ("864000", timedelta(hours=24))],
)
def test_a_429_waits_as_long_as_it_is_told_and_keeps_the_papers(
    httpserver: HTTPServer, retry_after: str, expected_delay: timedelta
) -> None:
    source = arxiv_source(httpserver)
    seed_one_paper(httpserver, source)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        "slow down", status=429, headers={"Retry-After": retry_after}
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.last_error_kind == ErrorKind.RATE_LIMITED
    delay = source.next_check_at - timezone.now()
    assert abs((delay - expected_delay).total_seconds()) < 30
    assert Paper.objects.count() == 1


def test_three_5xx_in_a_row_back_off_further_and_pause_the_source(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver)
    seed_one_paper(httpserver, source)
    httpserver.expect_request("/rss/cs.CL").respond_with_data("down", status=503)
    delays = []
    for _ in range(3):
        source_poll(source.id, force=True)
        source.refresh_from_db()
        delays.append(source.next_check_at - timezone.now())
    assert delays[0] < delays[1] < delays[2]
    assert source.error_count == 3 and source.paused
    assert source.last_error_kind == ErrorKind.HTTP_5XX
    assert "503" in source.last_error
    assert source.id not in sources_due(timezone.now() + timedelta(days=2))
    assert Paper.objects.count() == 1


def test_success_after_failures_resets_the_error_count(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver, error_count=2, last_error="HTTP 503", last_error_kind="x")
    seed_one_paper(httpserver, source)
    assert (source.error_count, source.last_error) == (0, "")


def test_410_gone_mutes_the_source_at_once(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver)
    httpserver.expect_request("/rss/cs.CL").respond_with_data("gone", status=410)
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.paused and source.last_error_kind == ErrorKind.GONE


def test_an_html_page_served_as_the_feed_is_an_error(httpserver: HTTPServer) -> None:
    source = SourceFactory.create(kind=Source.Kind.RSS, url=httpserver.url_for("/nature.rss"))
    httpserver.expect_request("/nature.rss").respond_with_data(
        fixture_bytes("nature-rss-url-returned-html-not-found-2023-10-27.html"),
        content_type="text/html",
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.last_error_kind == ErrorKind.HTML_NOT_FEED
    assert source.error_count == 1


def test_arxivs_error_feed_sent_with_400_is_recorded_with_its_reason(
    httpserver: HTTPServer,
) -> None:
    source = arxiv_source(httpserver)
    seed_one_paper(httpserver, source)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        fixture_bytes("arxiv-rss-error-bad-archive.xml"), status=400, content_type=RSS
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.last_error_kind == ErrorKind.ERROR_FEED
    assert "Bad archive" in source.last_error
    assert Paper.objects.count() == 1


def test_an_empty_200_is_an_error_and_keeps_the_papers(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver)
    seed_one_paper(httpserver, source)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(b"", content_type=RSS)
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.last_error_kind == ErrorKind.EMPTY
    assert Paper.objects.count() == 1


def test_truncated_xml_keeps_the_entries_it_could_read(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver)
    body = fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml")[:200_000]
    httpserver.expect_request("/rss/cs.CL").respond_with_data(body, content_type=RSS)
    source_poll(source.id, force=True)
    assert 0 < Paper.objects.count() < 1504


def test_bad_bytes_are_stored_as_valid_text_without_losing_other_entries(
    httpserver: HTTPServer,
) -> None:
    source = arxiv_source(httpserver)
    body = arxiv_feed(
        arxiv_item("2411.00010", title="Caf\u00e9 NUL\x00"),
        arxiv_item("2411.00011", title="Fine"),
    ).replace("Café".encode(), b"Caf\xe9")  # Latin-1 bytes in a UTF-8 document
    httpserver.expect_request("/rss/cs.CL").respond_with_data(body, content_type=RSS)
    source_poll(source.id, force=True)
    titles = sorted(Paper.objects.values_list("title", flat=True))
    assert len(titles) == 2
    assert "Fine" in titles
    assert all("\x00" not in t for t in titles)


def biorxiv_page(records: list[dict[str, Any]], *, cursor: int, total: int) -> bytes:
    message = {"status": "ok", "cursor": cursor, "count": len(records), "total": str(total)}
    return json.dumps({"messages": [message], "collection": records}).encode()


def biorxiv_record(n: int) -> dict[str, Any]:
    return {
        "doi": f"10.64898/2026.07.13.{n:06d}", "version": "1", "date": "2026-07-15",
        "title": f"Preprint {n}", "authors": "Doe, J.; Roe, R.", "category": "neuroscience",
        "abstract": "Text.", "published": "NA", "server": "bioRxiv", "license": "cc_by",
        "type": "new results", "funder": "NA", "jatsxml": "",
        "author_corresponding": "J Doe", "author_corresponding_institution": "X",
    }  # fmt: skip


def test_biorxiv_pages_are_followed_to_the_end(httpserver: HTTPServer) -> None:
    source = SourceFactory.create(
        kind=Source.Kind.BIORXIV_API, url=httpserver.url_for("/details/biorxiv")
    )
    first = [biorxiv_record(n) for n in range(100)]
    second = [biorxiv_record(n) for n in range(100, 150)]
    httpserver.expect_request(
        re.compile(r"/details/biorxiv/[\d-]+/[\d-]+/0/json")
    ).respond_with_data(biorxiv_page(first, cursor=0, total=150), content_type="application/json")
    httpserver.expect_request(
        re.compile(r"/details/biorxiv/[\d-]+/[\d-]+/100/json")
    ).respond_with_data(
        biorxiv_page(second, cursor=100, total=150), content_type="application/json"
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert Paper.objects.count() == 150
    assert source.error_count == 0
    assert source.state["since"] == timezone.localdate().isoformat()


def test_an_empty_page_mid_pagination_is_retried_not_taken_as_the_end(
    httpserver: HTTPServer,
) -> None:
    source = SourceFactory.create(
        kind=Source.Kind.BIORXIV_API, url=httpserver.url_for("/details/biorxiv")
    )
    httpserver.expect_request(re.compile(r".*/0/json")).respond_with_data(
        biorxiv_page([biorxiv_record(n) for n in range(100)], cursor=0, total=150),
        content_type="application/json",
    )
    httpserver.expect_request(re.compile(r".*/100/json")).respond_with_data(
        biorxiv_page([], cursor=100, total=150), content_type="application/json"
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert Paper.objects.count() == 100  # the first page is kept
    assert source.last_error_kind == ErrorKind.EMPTY
    assert "since" not in source.state  # the window is fetched again next time


def test_an_arxiv_api_source_with_no_results_is_retried_later(httpserver: HTTPServer) -> None:
    source = SourceFactory.create(
        kind=Source.Kind.ARXIV_API, url=httpserver.url_for("/api/query") + "?search_query=cat:cs.CL"
    )
    httpserver.expect_request("/api/query").respond_with_data(
        fixture_bytes("arxiv-api-empty-result.atom"), content_type="application/atom+xml"
    )
    source_poll(source.id, force=True)
    source.refresh_from_db()
    assert source.last_error_kind == ErrorKind.EMPTY


def test_a_source_held_by_another_poll_is_skipped(httpserver: HTTPServer) -> None:
    source = arxiv_source(httpserver, lease_until=timezone.now() + timedelta(minutes=5))
    assert source_poll(source.id, force=True) is None
    assert len(httpserver.log) == 0


def test_only_enabled_unpaused_due_sources_are_due() -> None:
    now = timezone.now()
    due = SourceFactory.create(next_check_at=now - timedelta(minutes=1))
    SourceFactory.create(next_check_at=now + timedelta(minutes=10))
    SourceFactory.create(next_check_at=now - timedelta(minutes=1), enabled=False)
    SourceFactory.create(next_check_at=now - timedelta(minutes=1), error_count=3)
    assert sources_due(now) == [due.id]


def test_a_redelivered_poll_takes_back_its_own_lease(httpserver: HTTPServer) -> None:
    # The worker running task "t1" died mid-poll: its lease is still in the future.
    source = arxiv_source(
        httpserver, lease_until=timezone.now() + timedelta(minutes=5), lease_token="t1"
    )
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001")), content_type=RSS
    )
    assert source_poll(source.id, force=True, token="t2") is None
    summary = source_poll(source.id, force=True, token="t1")
    assert summary is not None and summary.created == 1
    source.refresh_from_db()
    assert (source.lease_until, source.lease_token) == (None, "")


def test_a_second_queued_poll_does_nothing_once_the_first_ran(httpserver: HTTPServer) -> None:
    # Beat may enqueue a due source twice before a worker gets to it.
    source = arxiv_source(httpserver)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001")), content_type=RSS
    )
    assert source_poll(source.id) is not None
    assert source_poll(source.id) is None
    assert len(httpserver.log) == 1


def test_an_unexpected_error_is_recorded_and_the_lease_freed(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = arxiv_source(httpserver)
    httpserver.expect_request("/rss/cs.CL").respond_with_data(
        arxiv_feed(arxiv_item("2411.00001")), content_type=RSS
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    # A failure no real part can be made to produce on demand.
    monkeypatch.setattr("feeds.pipeline.poll.papers_upsert", broken)
    with pytest.raises(RuntimeError):
        source_poll(source.id, force=True)
    source.refresh_from_db()
    assert (source.error_count, source.last_error_kind) == (1, ErrorKind.INTERNAL)
    assert "disk on fire" in source.last_error
    assert source.lease_until is None
