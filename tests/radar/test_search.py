"""Search by words and by meaning: a Chinese query or a question in plain words finds the
English paper, exact words still come first, and each result says why it came."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from radar.search import hybrid_fuse, rrf
from tests.factories import PaperFactory
from tests.pages import card_titles

PLASTIC = "An engineered enzyme embedded into PLA to make self-biodegradable plastic"
COMPOST = "The plastic that biodegrades in your home compost"
PSILOCYBIN = "Psilocybin desynchronizes the human brain"


def results(client: Client, q: str, **params: str) -> tuple[list[str], str]:
    response = client.get("/search/", {"q": q, **params})
    assert response.status_code == 200
    html = response.content.decode()
    # Titles without the <mark> of word matches.
    return [re.sub(r"<[^>]+>", "", title) for title in card_titles(html)], html


def why_of(html: str, title: str) -> str:
    """The "why" line of the card with this title."""
    plain = re.sub(r"</?mark>", "", html)
    card = plain[plain.index(title) :]
    match = re.search(r'class="paper-card__why">([^<]*)<', card)
    assert match, f"no why line under {title!r}"
    return match.group(1)


@pytest.mark.parametrize("q", ["可生物降解的塑料", "能在家里堆肥中分解的塑料"])
def test_a_chinese_query_finds_the_english_papers_close_in_meaning(
    client: Client, nature_day: dict[str, str], q: str
) -> None:
    titles, html = results(client, q)

    assert {PLASTIC, COMPOST} & set(titles[:3]), titles[:5]
    top = next(t for t in titles[:3] if t in (PLASTIC, COMPOST))
    assert why_of(html, top).startswith("close in meaning (0.8")
    assert "No paper contains all your words; these are the closest in meaning." in html


def test_a_question_in_plain_words_finds_the_paper(
    client: Client, nature_day: dict[str, str]
) -> None:
    titles, _ = results(client, "how can plastic break down by itself?")

    assert {PLASTIC, COMPOST} & set(titles[:3]), titles[:5]


def test_exact_words_come_first_and_say_so(client: Client, nature_day: dict[str, str]) -> None:
    titles, html = results(client, "psilocybin")

    assert titles[0] in (
        PSILOCYBIN,
        "Your brain on shrooms — how psilocybin resets neural networks",
    )
    assert why_of(html, titles[0]).startswith("matches your words · close in meaning")


def test_a_query_about_nothing_in_the_papers_finds_nothing(
    client: Client, nature_day: dict[str, str]
) -> None:
    titles, html = results(client, "banana bread recipe")

    assert titles == []
    assert "No papers match your search." in html


def test_the_reasons_are_worded_in_chinese_for_a_chinese_reader(
    client: Client, nature_day: dict[str, str]
) -> None:
    client.cookies["lang"] = "zh-hans"
    _, html = results(client, "psilocybin")

    assert "包含你的词语 · 含义相近（0." in html


def test_an_author_search_does_not_look_for_meaning(
    client: Client, nature_day: dict[str, str]
) -> None:
    _, html = results(client, "", author="Nobody Atall")

    assert "No papers match your search." in html


def test_the_query_count_of_a_search_is_fixed(client: Client, nature_day: dict[str, str]) -> None:
    def count(q: str) -> int:
        cache.clear()  # each a search never asked before
        with CaptureQueriesContext(connection) as queries:
            results(client, q)
        return len(queries)

    assert count("plastic") == count("brain")
    # A substring search finds the recent window's first day once, for words and meaning.
    assert count("塑料") == count("plastic") - 1
    # 大脑 is in the glossary ("brain"): its English terms are one full-text search more.
    assert count("大脑") == count("塑料") + 1


def test_a_search_asked_again_reads_only_its_page_until_a_new_paper_arrives(
    client: Client, nature_day: dict[str, str]
) -> None:
    def asked(q: str, **params: str) -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            titles, _ = results(client, q, **params)
        return titles, [query["sql"] for query in queries.captured_queries]

    first, first_sql = asked("plastic")
    again, again_sql = asked("plastic")

    assert again == first and PLASTIC in first
    # Asked again: neither the full-text search nor the search by meaning runs again.
    assert any("@@" in sql for sql in first_sql)
    assert any("<=>" in sql for sql in first_sql)
    assert not any("@@" in sql or "<=>" in sql for sql in again_sql)
    assert len(again_sql) < len(first_sql)
    # Another filter is another search.
    _, other_sql = asked("plastic", source="nature")
    assert any("@@" in sql for sql in other_sql)

    # A paper stored since is found at once, not after the cached ranking expires.
    PaperFactory.create(title="Plastic eaten by a fungus", abstract="Plastic, eaten.")
    after, after_sql = asked("plastic")
    assert "Plastic eaten by a fungus" in after
    assert any("@@" in sql for sql in after_sql)


def test_reciprocal_rank_fusion_puts_a_paper_both_lists_rank_high_first() -> None:
    assert rrf([1, 2, 3], [3, 4]) == [3, 1, 2, 4]
    assert rrf([5, 6], []) == [5, 6]


def test_fusion_puts_a_paper_found_by_its_words_before_one_only_close_in_meaning() -> None:
    # Equal weights would put the best paper by meaning (2) before the second by words (1).
    assert rrf([5, 1], [2]) == [5, 2, 1]
    assert hybrid_fuse([5, 1], [2]) == [5, 1, 2]
    # Found both ways still comes first.
    assert hybrid_fuse([1, 2, 3], [3, 4])[0] == 3


def test_words_with_an_author_keep_to_that_authors_papers(
    client: Client, nature_day: dict[str, str]
) -> None:
    titles, _ = results(client, "可生物降解的塑料 author:Nobody")

    assert titles == []
