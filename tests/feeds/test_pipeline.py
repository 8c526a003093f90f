"""Parse → normalise → sanitise → upsert against the real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feeds.models import Paper, PaperSighting, Source
from feeds.pipeline.poll import body_ingest
from feeds.sources.base import ErrorKind, FeedError
from tests.conftest import fixture_bytes
from tests.factories import SourceFactory
from tests.feeds.feedbuilder import arxiv_feed, arxiv_item, journal_feed, journal_item

pytestmark = pytest.mark.django_db

ARXIV_FIXTURE = "arxiv-rss-all-archives-2024-11-28.xml"


def test_it_loads_every_paper_of_the_full_arxiv_feed_once() -> None:
    source = SourceFactory.create()
    summary = body_ingest(source, fixture_bytes(ARXIV_FIXTURE))
    assert summary.as_dict() == {
        "entries": 1504, "created": 1504, "updated": 0, "skipped": 0, "errors": 0, "warnings": 0,
    }  # fmt: skip
    assert Paper.objects.count() == 1504
    assert len(summary.changed_ids) == 1504
    assert PaperSighting.objects.filter(source=source).count() == 1504


def test_it_writes_nothing_when_the_same_feed_is_loaded_again() -> None:
    source = SourceFactory.create()
    body_ingest(source, fixture_bytes(ARXIV_FIXTURE))
    before = dict(Paper.objects.values_list("key", "updated_at"))
    with CaptureQueriesContext(connection) as queries:
        summary = body_ingest(source, fixture_bytes(ARXIV_FIXTURE))
    assert summary.as_dict()["created"] == 0
    assert summary.as_dict()["updated"] == 0
    assert summary.as_dict()["skipped"] == 1504
    assert summary.changed_ids == []
    assert dict(Paper.objects.values_list("key", "updated_at")) == before
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
    ]
    assert writes == []


def test_a_paper_seen_in_two_category_feeds_is_one_row_with_two_sightings() -> None:
    cl, ai = (
        SourceFactory.create(label="arXiv (cs.CL)"),
        SourceFactory.create(label="arXiv (cs.AI)"),
    )
    body_ingest(cl, arxiv_feed(arxiv_item("2411.00001", categories=("cs.CL", "cs.AI"))))
    summary = body_ingest(
        ai, arxiv_feed(arxiv_item("2411.00001", announce="cross", categories=("cs.CL", "cs.AI")))
    )
    assert summary.created == 0
    paper = Paper.objects.get()
    assert paper.announce_type == "new"
    assert paper.primary_category == "cs.CL"
    seen = dict(paper.sightings.values_list("source__label", "announce_type"))
    assert seen == {"arXiv (cs.CL)": "new", "arXiv (cs.AI)": "cross"}


def test_a_replacement_updates_the_paper_instead_of_adding_one() -> None:
    source = SourceFactory.create()
    body_ingest(source, arxiv_feed(arxiv_item("2411.00002", abstract="First version.")))
    first_id = Paper.objects.get().id
    summary = body_ingest(
        source,
        arxiv_feed(
            arxiv_item(
                "2411.00002",
                version=2,
                announce="replace",
                abstract="Second version.",
                pub_date="Fri, 29 Nov 2024 00:00:00 -0500",
            )
        ),
    )
    assert (summary.created, summary.updated) == (0, 1)
    assert summary.changed_ids == [first_id]
    paper = Paper.objects.get()
    assert (paper.version, paper.announce_type, paper.abstract) == (2, "replace", "Second version.")
    assert paper.announced == date(2024, 11, 29)


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    source = SourceFactory.create()
    body_ingest(source, arxiv_feed(arxiv_item("2411.00003", version=3, abstract="v3")))
    summary = body_ingest(source, arxiv_feed(arxiv_item("2411.00003", version=2, abstract="v2")))
    assert summary.changed_ids == []
    assert Paper.objects.get().abstract == "v3"


def test_a_journal_version_with_the_preprints_doi_joins_the_preprint() -> None:
    arxiv = SourceFactory.create()
    science = SourceFactory.create(kind=Source.Kind.RSS, label="Science")
    body_ingest(arxiv, arxiv_feed(arxiv_item("2411.00004", doi="10.1126/Science.ABC123")))
    summary = body_ingest(science, journal_feed(journal_item("10.1126/science.abc123")))
    assert summary.created == 0
    paper = Paper.objects.get()
    assert paper.key == "2411.00004"
    assert paper.journal_doi == "10.1126/science.abc123"
    assert sorted(paper.sightings.values_list("source__label", flat=True)) == [
        "Science",
        arxiv.label,
    ]


def test_a_preprint_arriving_after_its_journal_version_takes_over_the_row() -> None:
    arxiv = SourceFactory.create()
    science = SourceFactory.create(kind=Source.Kind.RSS, label="Science")
    body_ingest(science, journal_feed(journal_item("10.1126/science.xyz789")))
    journal_row = Paper.objects.get()
    body_ingest(arxiv, arxiv_feed(arxiv_item("2411.00005", doi="10.1126/science.xyz789")))
    paper = Paper.objects.get()
    assert paper.id == journal_row.id
    assert paper.key == "2411.00005"
    assert paper.sightings.count() == 2


def test_hostile_html_is_stored_inert() -> None:
    source = SourceFactory.create()
    title = "<img src=x onerror=alert(1)>Title\u202e with\x00 NUL"
    body_ingest(
        source, arxiv_feed(arxiv_item("2411.00006", title=title, abstract="a <b>b</b>\x00"))
    )
    paper = Paper.objects.get()
    # Plain-text fields stay text: the markup is kept as literal characters to be escaped
    # when shown, and control, NUL and bidi-override characters are gone.
    assert paper.title == "<img src=x onerror=alert(1)>Title with NUL"
    assert "\x00" not in paper.abstract
    assert paper.abstract_html == ""


def test_hostile_journal_html_loses_scripts_forms_and_htmx_attributes() -> None:
    source = SourceFactory.create(kind=Source.Kind.RSS)
    description = (
        '<p onclick="x()">Real <i>finding</i>.</p><script>alert(1)</script>'
        '<form action="https://evil"><input type="password"></form>'
        '<a href="javascript:alert(1)">j</a><a href="https://ok.example/">ok</a>'
        '<div hx-get="/admin" hx-trigger="load" data-hx-post="/x">htmx</div>'
        '<iframe src="https://evil"></iframe><svg onload=alert(1)></svg>'
        '<span style="background:url(javascript:alert(1))">s</span>'
    )
    body_ingest(source, journal_feed(journal_item("10.1/hostile", description=description)))
    html = Paper.objects.get().abstract_html
    for banned in ("<script", "onclick", "<form", "password", "javascript:", "hx-", "<iframe",
                   "<svg", "style="):  # fmt: skip
        assert banned not in html
    assert "<i>finding</i>" in html
    assert 'href="https://ok.example/"' in html


def test_links_that_are_not_http_are_dropped() -> None:
    source = SourceFactory.create(kind=Source.Kind.RSS)
    body_ingest(
        source,
        journal_feed(journal_item("10.1/links", link="javascript:alert(document.cookie)")),
    )
    assert "abs" not in Paper.objects.get().links


def test_an_absurd_date_is_replaced_by_the_fetch_date() -> None:
    source = SourceFactory.create()
    body_ingest(
        source,
        arxiv_feed(arxiv_item("2411.00007", pub_date="Fri, 31 Dec 9999 00:00:00 +0000")),
    )
    from django.utils import timezone

    assert Paper.objects.get().announced == timezone.localdate()


def test_an_error_feed_is_an_error_and_changes_nothing() -> None:
    source = SourceFactory.create()
    body_ingest(source, arxiv_feed(arxiv_item("2411.00008")))
    with pytest.raises(FeedError) as caught:
        body_ingest(source, fixture_bytes("arxiv-rss-error-bad-archive.xml"))
    assert caught.value.kind == ErrorKind.ERROR_FEED
    assert "astroph" in caught.value.message
    assert Paper.objects.count() == 1


def test_an_html_page_instead_of_a_feed_is_an_error_not_an_empty_feed() -> None:
    source = SourceFactory.create(kind=Source.Kind.RSS)
    with pytest.raises(FeedError) as caught:
        body_ingest(source, fixture_bytes("nature-rss-url-returned-html-not-found-2023-10-27.html"))
    assert caught.value.kind == ErrorKind.HTML_NOT_FEED


def test_an_empty_day_is_not_an_error() -> None:
    summary = body_ingest(SourceFactory.create(), fixture_bytes("arxiv-rss-empty-test-archive.xml"))
    assert summary.as_dict()["entries"] == 0


def test_an_empty_body_is_an_error() -> None:
    with pytest.raises(FeedError) as caught:
        body_ingest(SourceFactory.create(), b"  \n")
    assert caught.value.kind == ErrorKind.EMPTY


@pytest.mark.django_db(transaction=True)
def test_two_workers_loading_the_same_feed_at_once_make_one_copy_of_each_paper() -> None:
    source = SourceFactory.create()
    body = fixture_bytes(ARXIV_FIXTURE)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            body_ingest(source, body)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Paper.objects.count() == 1504
    assert PaperSighting.objects.count() == 1504


def test_a_reload_with_one_changed_entry_updates_just_that_paper() -> None:
    source = SourceFactory.create()
    body = fixture_bytes(ARXIV_FIXTURE)
    body_ingest(source, body)
    changed = body.replace(
        b"This study investigates the influence of generative artificial intelligence",
        b"This revised study investigates the influence of generative AI",
    )
    summary = body_ingest(source, changed)
    assert summary.as_dict() == {
        "entries": 1504, "created": 0, "updated": 1, "skipped": 1503, "errors": 0, "warnings": 0,
    }  # fmt: skip
    assert Paper.objects.get(key="2411.17700").abstract.startswith("This revised study")
