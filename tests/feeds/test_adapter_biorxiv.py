"""The bioRxiv/medRxiv details-API adapter, on a recorded page and hand-built records."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from feeds.sources import biorxiv_api, get_adapter
from feeds.sources.base import ErrorKind, FeedError, PaperIn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
RECORDED = FIXTURES / "biorxiv-api-details-interval-truncated.json"


@pytest.fixture(scope="module")
def papers() -> dict[str, PaperIn]:
    """The three records of the recorded (truncated) 2026-07-15..18 page, by key."""
    body = RECORDED.read_bytes()
    return {p.key: p for p in map(biorxiv_api.normalise, biorxiv_api.parse(body).entries)}


def _record(**fields: Any) -> dict[str, Any]:
    """A record shaped like the API's, with `fields` overriding the defaults."""
    record = {
        "title": "A preprint",
        "authors": "Doe, J.; Roe, R.",
        "author_corresponding": "Jane Doe",
        "author_corresponding_institution": "Somewhere",
        "doi": "10.1101/2024.01.02.123456",
        "date": "2024-01-03",
        "version": "1",
        "type": "new results",
        "license": "cc_by",
        "category": "genomics",
        "jatsxml": "https://www.biorxiv.org/content/early/2024/01/03/2024.01.02.123456.source.xml",
        "abstract": "We did things.",
        "funder": "NA",
        "published": "NA",
        "server": "bioRxiv",
    }
    return record | fields


def _body(*records: dict[str, Any], total: str | None = None) -> bytes:
    """A details-API response around `records`."""
    count = len(records)
    message = {"status": "ok", "cursor": 0, "count": count, "total": total or str(count)}
    return json.dumps({"messages": [message], "collection": list(records)}).encode()


def test_it_reads_the_paging_facts_with_total_as_a_string() -> None:
    page = biorxiv_api.parse(RECORDED.read_bytes())

    assert len(page.entries) == 3
    assert (page.total, page.offset) == (3, 0)


def test_it_keys_records_on_their_lower_cased_doi(papers: dict[str, PaperIn]) -> None:
    assert list(papers) == [
        "10.64898/2026.07.13.738145",
        "10.64898/2026.07.13.738249",
        "10.64898/2025.12.19.695336",
    ]
    assert all(paper.doi == key for key, paper in papers.items())


def test_it_reads_a_first_version(papers: dict[str, PaperIn]) -> None:
    paper = papers["10.64898/2026.07.13.738145"]

    assert paper.title == "Laterality of subcortical structures predicts spontaneous brain dynamics"
    assert paper.authors == ["Ghafari, T.", "Quinn, A. J.", "Jensen, O."]
    assert paper.affiliations == ["", "", ""]
    assert (paper.version, paper.announce_type) == (1, "new")
    assert paper.primary_category == "neuroscience"
    assert paper.categories == ["neuroscience"]
    assert paper.announced == date(2026, 7, 15)
    assert paper.published == date(2026, 7, 15)
    assert paper.abstract.startswith("Subcortical structures play a key role")
    assert paper.links == {
        "abs": "https://www.biorxiv.org/content/10.64898/2026.07.13.738145v1",
        "pdf": "https://www.biorxiv.org/content/10.64898/2026.07.13.738145v1.full.pdf",
        "doi": "https://doi.org/10.64898/2026.07.13.738145",
    }


def test_it_reads_a_revision_and_ignores_its_funders(papers: dict[str, PaperIn]) -> None:
    paper = papers["10.64898/2025.12.19.695336"]

    assert (paper.version, paper.announce_type) == (3, "replace")
    assert len(paper.authors) == 10
    assert paper.authors[0] == "Dubois, Q."
    assert paper.authors[-1] == "Gueguen, E."
    assert paper.primary_category == "microbiology"
    assert paper.announced == date(2026, 7, 15)
    # The record's date is version 3's; the first posting date is not in the record.
    assert paper.published is None
    assert paper.links["abs"] == "https://www.biorxiv.org/content/10.64898/2025.12.19.695336v3"


def test_it_treats_na_as_empty(papers: dict[str, PaperIn]) -> None:
    assert {paper.journal_doi for paper in papers.values()} == {""}
    assert not [p.key for p in papers.values() if "NA" in (p.journal_ref, p.journal_doi)]


def test_it_takes_the_journal_doi_from_published_lower_cased() -> None:
    body = _body(_record(published="10.1016/J.CELL.2024.01.001"))

    paper = biorxiv_api.normalise(biorxiv_api.parse(body).entries[0])

    assert paper.journal_doi == "10.1016/j.cell.2024.01.001"
    assert paper.key == "10.1101/2024.01.02.123456"


def test_it_keeps_only_the_highest_version_of_a_doi_on_a_page() -> None:
    body = _body(
        _record(version="2", date="2024-02-01", title="Second"),
        _record(doi="10.1101/2024.05.05.000001", title="Other"),
        _record(version="3", date="2024-03-01", title="Third"),
        _record(version="1", title="First"),
        total="4",
    )

    page = biorxiv_api.parse(body)
    papers = [biorxiv_api.normalise(entry) for entry in page.entries]

    assert [(p.key, p.version, p.title) for p in papers] == [
        ("10.1101/2024.01.02.123456", 3, "Third"),
        ("10.1101/2024.05.05.000001", 1, "Other"),
    ]
    assert page.total == 4


def test_a_medrxiv_record_gets_medrxiv_links_and_a_clean_jats() -> None:
    abstract = (
        "O_ST_ABSBackgroundC_ST_ABSWe used O_SCPLOWKC_SCPLOW-means.\n\n"
        "O_ST_ABSMETHODSC_ST_ABSA cohort.\n"
        "HighlightsO_LIfirst point\nC_LIO_LIsecond point\nC_LI\n"
        'O_FIG O_LINKSMALLFIG WIDTH=200 HEIGHT=111 SRC="FIGDIR/small/1v1_ufig1.gif" '
        'ALT="Figure 1">\nView larger version (51K):\norg.highwire.dtl.DTLVardef@d8c6cb'
        "_HPS_FORMAT_FIGEXP  M_FIG C_FIG"
    )
    record = _record(
        server="medrxiv",
        doi="10.1101/2024.02.02.24302207",
        version="2",
        category="Infectious Diseases (except HIV/AIDS)",
        title="MO_SCPLOWUSEC_SCPLOWDO_SCPLOWRIFTC_SCPLOW:  distance-controlled generation",
        abstract=abstract,
    )

    paper = biorxiv_api.normalise(biorxiv_api.parse(_body(record)).entries[0])

    assert paper.abstract == (
        "Background We used k-means. METHODS A cohort. Highlights first point second point"
    )
    assert paper.title == "MuseDrift: distance-controlled generation"
    assert paper.primary_category == "infectious diseases (except hiv/aids)"
    assert paper.links == {
        "abs": "https://www.medrxiv.org/content/10.1101/2024.02.02.24302207v2",
        "pdf": "https://www.medrxiv.org/content/10.1101/2024.02.02.24302207v2.full.pdf",
        "doi": "https://doi.org/10.1101/2024.02.02.24302207",
    }


def test_it_keeps_words_that_merely_contain_marker_like_letters() -> None:
    text = "MACRO_LIST and CO_LIGAND binding; AO_SCPLOWBSTRACTC_SCPLOWOur O_FIGURE stays."

    assert biorxiv_api.clean_jats(text) == (
        "MACRO_LIST and CO_LIGAND binding; AbstractOur O_FIGURE stays."
    )


def test_a_record_without_a_doi_is_refused_on_its_own() -> None:
    page = biorxiv_api.parse(_body(_record(doi="NA"), _record()))

    with pytest.raises(ValueError, match="record without a DOI"):
        biorxiv_api.normalise(page.entries[0])
    assert biorxiv_api.normalise(page.entries[1]).key == "10.1101/2024.01.02.123456"


def test_no_posts_found_is_an_empty_page() -> None:
    body = b'{"messages": [{"status": "no posts found"}], "collection": []}'

    page = biorxiv_api.parse(body)

    assert (page.entries, page.total, page.offset) == ([], 0, 0)


def test_another_status_without_records_raises_error_feed() -> None:
    body = b'{"messages": [{"status": "interval format error"}], "collection": []}'

    with pytest.raises(FeedError) as raised:
        biorxiv_api.parse(body)

    assert raised.value.kind == ErrorKind.ERROR_FEED
    assert raised.value.message == "interval format error"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<!DOCTYPE html><html><title>503 Service Unavailable</title></html>", "html_not_feed"),
        (b'{"messages": [{"status": "ok", "cursor": 0', ErrorKind.PARSE),
        (b"\xff\xfe not json", ErrorKind.PARSE),
        (b'["a", "list"]', ErrorKind.PARSE),
    ],
)
def test_a_body_that_is_not_the_apis_json_raises(body: bytes, kind: str) -> None:
    with pytest.raises(FeedError) as raised:
        biorxiv_api.parse(body)

    assert raised.value.kind == kind


def test_the_page_url_runs_from_since_to_today() -> None:
    url = biorxiv_api.page_url(
        "https://api.biorxiv.org/details/biorxiv",
        offset=200,
        state={"since": "2026-07-15"},
        today=date(2026, 7, 18),
    )

    assert url == "https://api.biorxiv.org/details/biorxiv/2026-07-15/2026-07-18/200/json"


def test_the_page_url_looks_back_two_days_without_since() -> None:
    url = biorxiv_api.page_url(
        "https://api.biorxiv.org/details/medrxiv/", offset=0, state={}, today=date(2026, 7, 18)
    )

    assert url == "https://api.biorxiv.org/details/medrxiv/2026-07-16/2026-07-18/0/json"


def test_medrxiv_sources_use_the_same_adapter() -> None:
    assert get_adapter("medrxiv_api") is biorxiv_api
    assert get_adapter("biorxiv_api") is biorxiv_api
