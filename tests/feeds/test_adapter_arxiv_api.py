"""The arXiv API adapter, on recorded 2026 and 2016 responses from export.arxiv.org."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from feeds.sources import arxiv_api
from feeds.sources.base import ErrorKind, FeedError, Page, PaperIn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def _page(name: str) -> Page:
    """The parsed page of a recorded response."""
    return arxiv_api.parse((FIXTURES / name).read_bytes())


def _papers(name: str) -> dict[str, PaperIn]:
    """The normalised papers of a recorded response, by key."""
    papers = (arxiv_api.normalise(entry) for entry in _page(name).entries)
    return {paper.key: paper for paper in papers}


@pytest.fixture(scope="module")
def testing_100() -> dict[str, PaperIn]:
    """The 100 papers of the 2026 `all:testing` query."""
    return _papers("arxiv-api-query-testing-100.atom")


def test_it_reads_a_full_page_with_its_paging_facts() -> None:
    page = _page("arxiv-api-query-testing-100.atom")

    assert len(page.entries) == 100
    assert (page.total, page.offset) == (214881, 0)


def test_it_reads_a_replaced_paper(testing_100: dict[str, PaperIn]) -> None:
    paper = testing_100["2005.14124"]

    assert paper.arxiv_id == "2005.14124"
    assert (paper.version, paper.announce_type) == (2, "replace")
    assert paper.title == "Active Fuzzing for Testing and Securing Cyber-Physical Systems"
    assert paper.authors == [
        "Yuqi Chen",
        "Bohan Xuan",
        "Christopher M. Poskitt",
        "Jun Sun",
        "Fan Zhang",
    ]
    assert paper.affiliations == ["", "", "", "", ""]
    assert paper.primary_category == "cs.SE"
    assert paper.categories == ["cs.SE", "cs.CR", "cs.LG"]
    assert paper.published == date(2020, 5, 28)
    assert paper.announced == date(2020, 7, 16)
    assert paper.journal_doi == "10.1145/3395363.3397376"
    assert paper.journal_ref.startswith("In Proc. ACM SIGSOFT International Symposium")
    assert paper.doi == ""
    assert paper.links == {
        "abs": "https://arxiv.org/abs/2005.14124",
        "pdf": "https://arxiv.org/pdf/2005.14124v2",
        "html": "https://arxiv.org/html/2005.14124v2",
        "doi": "https://doi.org/10.1145/3395363.3397376",
    }


def test_it_keeps_unicode_names_and_unicode_math(testing_100: dict[str, PaperIn]) -> None:
    assert testing_100["1706.00679"].authors == [
        "Jean-Marc Azaïs",
        "Yohann De Castro",
        "Stéphane Mourareau",
    ]
    assert "all $δ\\le π/4$ in the Bayesian setting" in testing_100["2403.16981"].abstract


def test_it_reads_each_authors_affiliation(testing_100: dict[str, PaperIn]) -> None:
    paper = testing_100["0804.0970"]

    assert paper.authors == ["Marie-Claude Gaudel", "Pascale Le Gall"]
    assert paper.affiliations == ["LRI", "IBISC"]
    assert all(len(p.affiliations) == len(p.authors) for p in testing_100.values())


def test_it_keeps_paragraph_breaks_out_of_abstracts(testing_100: dict[str, PaperIn]) -> None:
    assert not [key for key, paper in testing_100.items() if "\n" in paper.abstract]


def test_it_reads_old_style_ids() -> None:
    paper = _papers("arxiv-api-idlist-oldstyle-id.atom")["astro-ph/0601001"]

    assert (paper.arxiv_id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.primary_category == "astro-ph"
    assert paper.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert paper.affiliations == [
        "Ohio State",
        "Ohio State",
        "CfA",
        "Warsaw University Observatory",
    ]
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.links["pdf"] == "https://arxiv.org/pdf/astro-ph/0601001v1"


def test_it_reads_an_old_style_id_among_new_ones(testing_100: dict[str, PaperIn]) -> None:
    paper = testing_100["hep-ph/0301050"]

    assert paper.version == 2
    assert paper.journal_doi == "10.1016/j.physletb.2003.08.045"


def test_it_collapses_the_hard_wrapped_whitespace_of_the_legacy_format() -> None:
    page = _page("arxiv-api-legacy-2016.atom")
    papers = {p.key: p for p in map(arxiv_api.normalise, page.entries)}

    assert (len(papers), page.total, page.offset) == (10, 31, 0)
    assert not [k for k, p in papers.items() if "\n" in p.abstract or "  " in p.abstract]
    paper = papers["1201.4869"]
    assert paper.abstract.startswith(
        "As helium-4 is cooled below 2.17 K it undergoes a phase transition to a "
        "fundamentally new state of matter"
    )
    assert paper.primary_category == "cond-mat.mes-hall"
    assert paper.categories == ["cond-mat.mes-hall", "cond-mat.other"]
    assert paper.journal_doi == "10.1142/s021797921244002x"
    assert paper.journal_ref == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert paper.links["abs"] == "https://arxiv.org/abs/1201.4869"


def test_it_reads_the_one_known_id_of_an_id_list() -> None:
    papers = _papers("arxiv-api-idlist-two-ids.atom")

    assert list(papers) == ["1707.08567"]
    paper = papers["1707.08567"]
    assert len(paper.authors) == 34
    assert "Dirk Wübben" in paper.authors
    assert paper.affiliations == [""] * 34


def test_an_empty_result_is_an_empty_page_with_total_zero() -> None:
    page = _page("arxiv-api-empty-result.atom")

    assert (page.entries, page.total, page.offset) == ([], 0, 0)


def test_the_error_entry_raises_with_the_apis_message() -> None:
    with pytest.raises(FeedError) as raised:
        _page("arxiv-api-error-400.atom")

    assert raised.value.kind == ErrorKind.ERROR_FEED
    assert raised.value.message == "incorrect id format for abc"


def test_an_html_page_raises_html_not_feed() -> None:
    with pytest.raises(FeedError) as raised:
        arxiv_api.parse(b"<html><body><h1>502 Bad Gateway</h1></body></html>")

    assert raised.value.kind == ErrorKind.HTML_NOT_FEED


def test_the_page_url_sets_start_and_keeps_the_other_parameters() -> None:
    base = (
        "https://export.arxiv.org/api/query?search_query=cat:cs.AI+AND+abs:llm"
        "&sortBy=submittedDate&sortOrder=descending&start=0&max_results=10"
    )

    url = arxiv_api.page_url(base, offset=200, state={}, today=date(2026, 4, 12))

    assert url == (
        "https://export.arxiv.org/api/query?search_query=cat:cs.AI+AND+abs:llm"
        "&sortBy=submittedDate&sortOrder=descending&start=200&max_results=100"
    )


def test_the_page_url_adds_paging_to_a_url_without_it() -> None:
    base = "https://export.arxiv.org/api/query?id_list=2005.14124,astro-ph/0601001"

    url = arxiv_api.page_url(base, offset=0, state={}, today=date(2026, 4, 12))

    assert url == (
        "https://export.arxiv.org/api/query?id_list=2005.14124,astro-ph/0601001"
        "&start=0&max_results=100"
    )
