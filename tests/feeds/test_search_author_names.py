"""A name typed in the main search box finds that author's papers (not only `author:Name`)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from feeds.search import search_papers
from tests.factories import arxiv_paper
from tests.pages import text_of

pytestmark = pytest.mark.django_db


def card_titles(html: str) -> list[str]:
    titles = re.findall(r'<h2 class="paper-card__title"><a [^>]*>(.*?)</a></h2>', html)
    return [text_of(re.sub(r"</?mark>", "", title)) for title in titles]


def reasons(html: str) -> list[str]:
    return [text_of(why) for why in re.findall(r'<p class="paper-card__why">(.*?)</p>', html)]


@pytest.fixture
def papers() -> None:
    arxiv_paper(
        arxiv_id="2308.14483",
        title="Primordial black holes and gravitational waves",
        abstract="We constrain the abundance of primordial black holes.",
        authors=["Gaetano Lambiase", "Tanmay Kumar Poddar"],
    )
    arxiv_paper(
        title="Dark matter in dwarf galaxies",
        abstract="Rotation curves of dwarf galaxies.",
        authors=["Ada Lovelace"],
    )


@pytest.mark.parametrize("q", ["Lambiase", "Gaetano Lambiase", "gaetano lambiase"])
def test_a_name_in_the_search_box_finds_that_authors_papers(
    client: Client, papers: None, q: str
) -> None:
    html = client.get("/search/", {"q": q}).content.decode()

    assert "No papers match your search." not in html
    assert card_titles(html) == ["Primordial black holes and gravitational waves"]
    assert reasons(html) == ["author: Gaetano Lambiase"]
    # The reason belongs to the search: the front page's card (its body cached) has none.
    assert reasons(client.get("/").content.decode()) == []


def test_the_reason_is_in_chinese_for_chinese_readers(client: Client, papers: None) -> None:
    client.post("/language/", {"language": "zh-hans"})

    html = client.get("/search/", {"q": "Lambiase"}).content.decode()

    assert reasons(html) == ["作者：Gaetano Lambiase"]


def test_words_that_find_papers_are_searched_as_words_only(client: Client, papers: None) -> None:
    arxiv_paper(title="Lovelace numbers", abstract="Counting.", authors=["Someone Else"])

    html = client.get("/search/", {"q": "Lovelace"}).content.decode()

    assert card_titles(html) == ["Lovelace numbers"]
    assert reasons(html) == ["matches your words"]


def test_a_query_that_is_no_name_is_not_searched_among_authors(papers: None) -> None:
    # Operators, digits and long sentences are words, never a name.
    for q in ('"Gaetano Lambiase"x', "Lambiase -black", "Lambiase 2023", "a b c d e Lambiase"):
        assert search_papers(q=q).papers == [], q
    assert [p.title for p in search_papers(q="Lambiase").papers] == [
        "Primordial black holes and gravitational waves"
    ]
