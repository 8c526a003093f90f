"""Search (`/search/?q=`): ranked full text, highlighted snippets, authors, CJK fallback."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from radar.models import SavedPaper
from tests.factories import arxiv_paper, arxiv_source, biorxiv_paper, signed_in_reader
from tests.pages import text_of

pytestmark = pytest.mark.django_db


def card_titles(html: str) -> list[str]:
    titles = re.findall(r'<h2 class="paper-card__title"><a [^>]*>(.*?)</a></h2>', html)
    return [text_of(re.sub(r"</?mark>", "", title)) for title in titles]


def snippets(html: str) -> list[str]:
    return re.findall(r'<p class="paper-card__abstract tex">(.*?)</p>', html, re.S)


def test_a_title_hit_ranks_above_an_abstract_only_hit(client: Client) -> None:
    arxiv_paper(title="Graph networks", abstract="We study transformers for proteins.")
    arxiv_paper(title="Transformers for chemistry", abstract="Molecules and graphs.")
    arxiv_paper(title="Unrelated", abstract="Nothing to see.")
    html = client.get("/search/?q=transformer").content.decode()
    assert card_titles(html) == ["Transformers for chemistry", "Graph networks"]
    assert re.findall(r'<span class="paper-card__number">([^<]*)</span>', html) == ["01.", "02."]


def test_snippets_highlight_the_hits_and_escape_the_rest(client: Client) -> None:
    arxiv_paper(
        title="Plain title",
        abstract="Before <img src=x onerror=alert(1)> the quantum <b>walk</b> & after.",
    )
    html = client.get("/search/?q=quantum").content.decode()
    [snippet] = snippets(html)
    assert "<mark>quantum</mark>" in snippet
    assert "&lt;img src=x onerror=alert(1)&gt;" in snippet
    assert "&lt;b&gt;walk&lt;/b&gt; &amp; after" in snippet
    assert "<img" not in html and "<b>walk" not in html
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0


def test_highlighted_titles_are_escaped_too(client: Client) -> None:
    arxiv_paper(title="<script>alert(1)</script> Quantum codes", abstract="x")
    html = client.get("/search/?q=quantum").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Quantum</mark> codes" in html


def test_an_author_search_finds_papers_by_name(client: Client) -> None:
    arxiv_paper(title="By Noether", authors=["Emmy Noether", "Hermann Weyl"])
    arxiv_paper(title="By Turing", authors=["Alan Turing"])
    by_prefix = client.get("/search/?q=author:noether").content.decode()
    assert card_titles(by_prefix) == ["By Noether"]
    by_field = client.get("/search/", {"author": "hermann weyl"}).content.decode()
    assert card_titles(by_field) == ["By Noether"]
    quoted = client.get("/search/", {"q": 'author:"Alan Turing"'}).content.decode()
    assert card_titles(quoted) == ["By Turing"]


def test_author_and_words_combine(client: Client) -> None:
    arxiv_paper(title="Symmetry and conservation", authors=["Emmy Noether"])
    arxiv_paper(title="Invariant rings", authors=["Emmy Noether"])
    arxiv_paper(title="Symmetry of crystals", authors=["Someone Else"])
    html = client.get("/search/?q=symmetry author:Noether").content.decode()
    assert card_titles(html) == ["Symmetry and conservation"]


def test_a_chinese_query_finds_its_own_text_first_then_english_papers_by_their_terms(
    client: Client,
) -> None:
    arxiv_paper(title="量子计算的新进展", abstract="关于量子纠错的研究。")
    arxiv_paper(title="Quantum computing", abstract="In English.")
    arxiv_paper(title="Protein folding", abstract="In English.")
    response = client.get("/search/", {"q": "量子"})
    assert response.status_code == 200
    html = response.content.decode()
    # 量子 is "quantum" in the glossary (radar/glossary_zh_en.tsv).
    assert card_titles(html) == ["量子计算的新进展", "Quantum computing"]
    assert "matches its English terms: quantum" in html
    assert "<mark>量子</mark>计算的新进展" in html
    assert "关于<mark>量子</mark>纠错的研究。" in html


def test_a_chinese_query_found_only_by_its_english_terms_says_so(client: Client) -> None:
    arxiv_paper(title="Quantum computing", abstract="In English.")
    html = client.get("/search/", {"q": "量子"}).content.decode()
    assert card_titles(html) == ["Quantum computing"]
    assert "these match their English terms (quantum)" in html
    assert "contain your query as written" not in html


def test_stop_words_and_percent_signs_do_not_crash(client: Client) -> None:
    arxiv_paper(title="The 100% solution", abstract="Of the.")
    arxiv_paper(title="Another", abstract="Nothing.")
    stop_words = client.get("/search/", {"q": "the of"})
    assert stop_words.status_code == 200
    assert card_titles(stop_words.content.decode()) == []
    percent = client.get("/search/", {"q": "100%"}).content.decode()
    assert card_titles(percent) == ["The 100% solution"]
    underscore = client.get("/search/", {"q": "_"})
    assert underscore.status_code == 200 and card_titles(underscore.content.decode()) == []
    for q in ['"unclosed', "a & | ! (", "-", "OR OR", "\x00", "a" * 2000]:
        assert client.get("/search/", {"q": q}).status_code == 200


def test_an_empty_query_shows_only_the_form(client: Client) -> None:
    arxiv_paper(title="Anything")
    html = client.get("/search/").content.decode()
    assert 'name="q"' in html and "paper-card" not in html
    assert "No papers match" not in html


def test_no_match_says_so(client: Client) -> None:
    arxiv_paper(title="Anything")
    html = client.get("/search/?q=zebrafish").content.decode()
    assert "No papers match your search." in html
    assert "glossary" not in html


def test_a_chinese_query_that_finds_nothing_says_why_and_what_to_try(client: Client) -> None:
    arxiv_paper(title="Anything")
    client.cookies["lang"] = "zh-hans"

    html = client.get("/search/?q=鼎鼐饕餮").content.decode()

    assert "没有符合搜索条件的论文。" in html
    assert "词表尚未收录其中的一些词。可以试试英文术语，或用一句话描述这个主题。" in html
    # Not the banner of papers found by their Chinese text: none were.
    assert "显示包含你所输入原文的论文" not in html


def test_filters_apply_to_search(client: Client) -> None:
    lg = arxiv_source("arxiv-cs-lg", label="arXiv cs.LG")
    arxiv_paper(title="Protein folding old", announced=date(2024, 1, 5))
    arxiv_paper(lg, title="Protein folding LG", primary_category="cs.LG", announce_type="cross")
    biorxiv_paper(title="Protein folding bio")
    assert card_titles(client.get("/search/?q=protein&source=arxiv-cs-lg").content.decode()) == [
        "Protein folding LG"
    ]
    assert card_titles(
        client.get("/search/?q=protein&category=bioinformatics").content.decode()
    ) == ["Protein folding bio"]
    assert card_titles(client.get("/search/?q=protein&announce_type=cross").content.decode()) == [
        "Protein folding LG"
    ]
    assert card_titles(
        client.get("/search/?q=protein&from=2024-01-01&to=2024-01-31").content.decode()
    ) == ["Protein folding old"]


def test_more_results_load_with_and_without_htmx(client: Client) -> None:
    for i in range(25):
        arxiv_paper(title=f"Neutrino study {i}", announced=date(2024, 11, 1 + i))
    html = client.get("/search/?q=neutrino").content.decode()
    assert len(card_titles(html)) == 20
    more = re.search(r'<a class="button button--quiet" href="([^"]+)" hx-get="([^"]+)"', html)
    assert more is not None and more.group(1) == more.group(2)
    url = more.group(1).replace("&amp;", "&")
    assert "page=2" in url
    plain = client.get(url).content.decode()
    assert "<html" in plain and len(card_titles(plain)) == 5
    numbers = re.findall(r'<span class="paper-card__number">([^<]*)</span>', plain)
    assert numbers[0] == "21." and numbers[-1] == "25."
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and len(card_titles(fragment)) == 5


def test_a_signed_in_reader_sees_saved_state_in_results(client: Client) -> None:
    saved = arxiv_paper(title="Saved graph paper")
    arxiv_paper(title="Other graph paper")
    user = signed_in_reader(client)
    SavedPaper.objects.create(user=user, paper=saved)
    html = client.get("/search/?q=graph").content.decode()
    assert len(re.findall(r'class="save-button" aria-pressed="true"', html)) == 1
    assert len(re.findall(r'class="save-button" aria-pressed="false"', html)) == 1


@pytest.mark.parametrize("q", ["graph", "author:Lovelace", "图"])
def test_the_query_count_does_not_grow_with_the_results(client: Client, q: str) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/search/", {"q": q}).status_code == 200
        return len(queries)

    for i in range(5):
        arxiv_paper(title=f"Graph {i} 图", authors=["Ada Lovelace"])
    few = count()
    for i in range(20):
        arxiv_paper(title=f"Graph {i + 5} 图", authors=["Ada Lovelace"])
    assert count() == few
    # The newest paper's id (the key of the cached ranking: `radar.search.ranking_for`),
    # tsquery check (full text) or scan window (substring, author), ranked ids, papers,
    # sightings, summary cards, sources; and by meaning (not for authors) the nearest papers
    # (none has an embedding here, so not the query's closeness to recent papers at large),
    # after the recent window's first day for full text (a scan has it already); 图 is
    # "graph" in the glossary: a full-text search for that is one query more.
    assert few == {"graph": 9, "author:Lovelace": 7, "图": 9}[q]


def test_substring_search_reads_only_the_most_recent_papers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feeds.search.SEARCH_SCAN_WINDOW", 2)
    arxiv_paper(title="旧的量子论文", announced=date(2024, 1, 1))
    arxiv_paper(title="新的量子论文", announced=date(2024, 11, 27))
    arxiv_paper(title="另一篇", announced=date(2024, 11, 28))
    arxiv_paper(title="第三篇", announced=date(2024, 11, 28))
    html = client.get("/search/", {"q": "量子"}).content.decode()
    assert card_titles(html) == ["新的量子论文"]
    assert "Only papers announced since Nov. 27, 2024 were searched." in html


def test_a_snippet_from_inside_the_abstract_is_marked_with_ellipses(client: Client) -> None:
    filler = " ".join(f"filler{i}" for i in range(120))
    arxiv_paper(title="Plain", abstract=f"{filler} the photon result here. {filler}")
    [snippet] = snippets(client.get("/search/?q=photon").content.decode())
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>photon</mark>" in snippet
