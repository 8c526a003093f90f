"""Today (`/`): every source family's latest papers in sections, numbered; a day's papers;
filters (one day's list, 25 at a time), days, the table of contents."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feeds.labels import feed_cut, whole_words
from feeds.models import Paper
from feeds.pipeline.poll import body_ingest
from feeds.pipeline.sanitise import paper_sanitise
from feeds.pipeline.text import clean_abstract
from feeds.pipeline.upsert import papers_upsert
from feeds.sources import arxiv_rss
from radar.models import SavedPaper
from tests.conftest import fixture_bytes
from tests.factories import (
    DAY,
    PaperFactory,
    SightingFactory,
    arxiv_paper,
    arxiv_source,
    biorxiv_paper,
    biorxiv_source,
    fresh_client,
    journal_paper,
    signed_in_reader,
)
from tests.pages import card_titles, text_of

ARXIV_FEED = "arxiv-rss-all-archives-2024-11-28.xml"

pytestmark = pytest.mark.django_db


def card_numbers(html: str) -> list[str]:
    return re.findall(r'<span class="paper-card__number">([^<]*)</span>', html)


def test_it_numbers_the_latest_days_papers_in_order(client: Client) -> None:
    older = arxiv_paper(title="Yesterday's paper", announced=date(2024, 11, 27))
    first = arxiv_paper(title="First of the day")
    second = arxiv_paper(title="Second of the day")
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert card_titles(html) == ["First of the day", "Second of the day"]
    assert card_numbers(html) == ["01.", "02."]
    assert older.title not in html
    assert f'href="/papers/{first.key}/"' in html and f'href="/papers/{second.key}/"' in html
    assert "Explore the Frontier of Global Academia" in html
    assert "Nov. 28, 2024" in html


def test_the_hero_and_dates_follow_the_language(client: Client) -> None:
    arxiv_paper(title="A paper")
    client.cookies["lang"] = "zh-hans"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-Hans"' in html
    assert "2024年11月28日" in html


def test_cards_show_source_labels_per_kind(client: Client) -> None:
    arxiv_paper(title="An arXiv paper", primary_category="cs.CL")
    biorxiv_paper(title="A bioRxiv paper", primary_category="cancer biology")
    journal_paper(title="A Science paper")
    html = client.get("/").content.decode()
    labels = re.findall(r'<span class="paper-card__source">([^<]*)</span>', html)
    assert labels == ["arXiv (cs.CL)", "bioRxiv (Cancer Biology)", "Science"]


def test_badges_say_new_cross_list_or_updated_with_version(client: Client) -> None:
    arxiv_paper(announce_type="new")
    arxiv_paper(announce_type="cross")
    arxiv_paper(announce_type="replace", version=3)
    arxiv_paper(announce_type="replace-cross", version=2)
    html = client.get("/").content.decode()
    badges = re.findall(r'<span class="badge (badge--[a-z-]+)">([^<]*)</span>', html)
    assert badges == [("badge--new", "new"), ("badge--cross", "cross-list")]
    # Replacements are folded at the end, each saying which version it is.
    updated = re.findall(r'<span class="updated-list__meta">[^<]*· ([^<]*)</span>', html)
    assert updated == ["updated v3", "updated v2"]
    listed = client.get("/?category=cs.CL").content.decode()
    badges = re.findall(r'<span class="badge (badge--[a-z-]+)">([^<]*)</span>', listed)
    assert badges == [
        ("badge--new", "new"),
        ("badge--cross", "cross-list"),
        ("badge--replace", "updated v3"),
        ("badge--replace-cross", "updated v2"),
    ]


def test_long_author_lists_are_shortened_with_et_al_and_expandable(client: Client) -> None:
    names = ["Ada Lovelace", "Charles Babbage", "Mary Somerville", "Alan Turing", "Grace Hopper"]
    arxiv_paper(title="Five authors", authors=names)
    arxiv_paper(title="Two authors", authors=["Emmy Noether", "Hermann Weyl"])
    html = client.get("/").content.decode()
    summary = re.search(
        r'class="paper-card__authors">\s*<details>\s*<summary>(.*?)</summary>', html, re.S
    )
    assert summary is not None
    assert text_of(summary.group(1)).startswith(
        "Ada Lovelace, Charles Babbage, Mary Somerville et al."
    )
    assert "Alan Turing" not in summary.group(1)
    details = re.search(r"<details>(.*?)</details>", html, re.S)
    assert details is not None and "Grace Hopper" in details.group(1)
    assert "Emmy Noether, Hermann Weyl" in html
    assert html.count("et al.") == 1
    assert "unknown" not in text_of(html).lower()


def test_links_include_abs_pdf_html_doi_and_journal_version(client: Client) -> None:
    arxiv_paper(title="Published later", journal_doi="10.1103/physrevd.1.1")
    html = client.get("/").content.decode()
    pattern = r'<a href="([^"]+)" rel="noopener[^"]*"[^>]*>([^<]+)</a>'
    links = {text: url for url, text in re.findall(pattern, html)}
    assert links["abs"].startswith("https://arxiv.org/abs/")
    assert links["PDF"].startswith("https://arxiv.org/pdf/")
    assert links["HTML"].startswith("https://arxiv.org/html/")
    assert links["Journal version"] == "https://doi.org/10.1103/physrevd.1.1"


def test_filters_by_source_category_and_announce_type_combine(client: Client) -> None:
    cl = arxiv_source("arxiv-cs-cl")
    lg = arxiv_source("arxiv-cs-lg", label="arXiv cs.LG")
    arxiv_paper(cl, title="CL new", primary_category="cs.CL", announce_type="new")
    arxiv_paper(cl, title="CL cross", primary_category="cs.CL", announce_type="cross")
    arxiv_paper(lg, title="LG new", primary_category="cs.LG", announce_type="new")
    biorxiv_paper(title="Bio new")

    assert card_titles(client.get("/?source=arxiv-cs-lg").content.decode()) == ["LG new"]
    assert card_titles(client.get("/?category=cs.CL").content.decode()) == ["CL new", "CL cross"]
    assert card_titles(client.get("/?category=Bioinformatics").content.decode()) == ["Bio new"]
    assert card_titles(client.get("/?announce_type=cross").content.decode()) == ["CL cross"]
    assert card_titles(client.get("/?source=arxiv-cs-cl&announce_type=new").content.decode()) == [
        "CL new"
    ]
    assert card_titles(client.get("/?discipline=Biology").content.decode()) == ["Bio new"]
    empty = client.get("/?source=arxiv-cs-lg&announce_type=cross").content.decode()
    assert card_titles(empty) == [] and "No papers match these filters" in empty


def test_day_navigation_goes_to_the_nearest_days_with_papers(client: Client) -> None:
    arxiv_paper(title="Monday", announced=date(2024, 11, 25))
    arxiv_paper(title="Wednesday", announced=date(2024, 11, 27))
    arxiv_paper(title="Friday", announced=date(2024, 11, 29))

    latest = client.get("/").content.decode()
    assert card_titles(latest) == ["Friday"]
    assert 'href="/?date=2024-11-27" rel="prev"' in latest
    assert 'rel="next"' not in latest

    middle = client.get("/?date=2024-11-27").content.decode()
    assert card_titles(middle) == ["Wednesday"]
    assert 'href="/?date=2024-11-25" rel="prev"' in middle
    assert 'href="/?date=2024-11-29" rel="next"' in middle

    gap = client.get("/?date=2024-11-28").content.decode()
    assert card_titles(gap) == [] and "No papers were announced on this day." in gap
    assert 'href="/?date=2024-11-27" rel="prev"' in gap

    # A nonsense date is ignored: the latest day is shown.
    assert card_titles(client.get("/?date=yesterday").content.decode()) == ["Friday"]


def test_the_front_pages_previous_day_has_papers_the_front_page_does_not_show(
    client: Client,
) -> None:
    # The journal's latest day is the 29th, arXiv's the 28th: both are on the front page.
    arxiv_paper(title="arXiv 26th", announced=date(2024, 11, 26))
    arxiv_paper(title="arXiv 28th", announced=date(2024, 11, 28))
    journal_paper(title="Journal 20th", doi="10.1126/science.20", announced=date(2024, 11, 20))
    journal_paper(title="Journal 29th", doi="10.1126/science.29", announced=date(2024, 11, 29))

    html = client.get("/").content.decode()
    assert card_titles(html) == ["Journal 29th", "arXiv 28th"]
    # Not the 28th (arXiv's day, already shown): each family's day before its latest, the newest.
    assert 'href="/?date=2024-11-26" rel="prev"' in html
    assert "Nov. 26, 2024" in html
    assert card_titles(client.get("/?date=2024-11-26").content.decode()) == ["arXiv 26th"]

    # With no earlier arXiv day, the journal's earlier day is the one.
    Paper.objects.filter(title="arXiv 26th").delete()
    cache.clear()  # a deletion does not move the cache key (the newest paper id)
    html = client.get("/").content.decode()
    assert 'href="/?date=2024-11-20" rel="prev"' in html

    # Nothing earlier at all: no link back.
    Paper.objects.filter(title="Journal 20th").delete()
    cache.clear()
    assert 'rel="prev"' not in client.get("/").content.decode()


def test_day_navigation_keeps_the_filters(client: Client) -> None:
    lg = arxiv_source("arxiv-cs-lg", label="arXiv cs.LG")
    arxiv_paper(lg, title="LG Monday", primary_category="cs.LG", announced=date(2024, 11, 25))
    arxiv_paper(title="CL Wednesday", announced=date(2024, 11, 27))
    arxiv_paper(lg, title="LG Friday", primary_category="cs.LG", announced=date(2024, 11, 29))
    html = client.get("/?source=arxiv-cs-lg").content.decode()
    assert card_titles(html) == ["LG Friday"]
    assert 'href="/?source=arxiv-cs-lg&amp;date=2024-11-25" rel="prev"' in html


def test_the_table_of_contents_counts_each_source_label(client: Client) -> None:
    cl = arxiv_source("arxiv-cs-cl")
    lg = arxiv_source("arxiv-cs-lg", label="arXiv cs.LG")
    both = arxiv_paper(cl, primary_category="cs.CL", categories=["cs.CL", "cs.LG"])
    SightingFactory.create(source=lg, paper=both, announce_type="cross")  # counted once
    arxiv_paper(cl, primary_category="cs.CL")
    arxiv_paper(lg, primary_category="cs.LG")
    biorxiv_paper(doi="10.1101/1", primary_category="genomics")
    journal_paper(doi="10.1126/science.1")
    journal_paper(doi="10.1126/science.2")
    arxiv_paper(primary_category="cs.CL", announced=date(2024, 11, 27))  # another day
    html = client.get("/").content.decode()
    toc = re.search(r'<ul class="toc"[^>]*>(.*?)</ul>', html, re.S)
    assert "toc-more" not in html
    assert toc is not None
    entries = re.findall(
        r'<a href="([^"]*)">([^<]*)<span class="count">(\d+)</span></a>', toc.group(1)
    )
    # Biggest first, then alphabetical.
    assert [(label, int(count)) for _, label, count in entries] == [
        ("arXiv (cs.CL)", 2),
        ("Science", 2),
        ("arXiv (cs.LG)", 1),
        ("bioRxiv (Genomics)", 1),
    ]
    # Each entry jumps to its section on the page; the section links to its whole list.
    assert [url for url, _, _ in entries] == [
        "#s-category-cs-cl",
        "#s-source-science",
        "#s-category-cs-lg",
        "#s-category-genomics",
    ]
    for url, label, count in entries:
        section = re.search(
            rf'<section class="digest-section" id="{url[1:]}"(.*?)</section>', html, re.S
        )
        assert section is not None and label in section.group(1)
        assert len(re.findall(r'class="paper-card"', section.group(1))) == int(count)
    assert client.get("/?category=cs.CL&date=2024-11-28").status_code == 200


def test_a_big_section_shows_its_first_papers_and_links_to_all_of_them(client: Client) -> None:
    for i in range(12):
        arxiv_paper(title=f"CV {i:02d}", primary_category="cs.CV")
    arxiv_paper(title="CL 00", primary_category="cs.CL")
    html = client.get("/").content.decode()
    assert card_titles(html) == [f"CV {i:02d}" for i in range(5)] + ["CL 00"]
    assert card_numbers(html) == [f"{i:02d}." for i in range(1, 7)]  # no gaps across sections
    assert 'href="/?category=cs.CV&amp;date=2024-11-28">All 12 papers in arXiv (cs.CV)' in html
    whole = client.get("/?category=cs.CV&date=2024-11-28").content.decode()
    assert card_titles(whole) == [f"CV {i:02d}" for i in range(12)]


def test_the_front_page_shows_every_familys_latest_day_new_papers_first(client: Client) -> None:
    # Yesterday's arXiv mailing lists replacements first; three journal papers came today.
    arxiv_paper(title="Replaced v4", announce_type="replace", version=4)
    arxiv_paper(title="New arXiv", announce_type="new")
    arxiv_paper(title="Cross-listed", announce_type="cross")
    arxiv_paper(title="Older arXiv", announced=date(2024, 11, 27))
    for n in range(3):
        journal_paper(
            title=f"Journal {n}", doi=f"10.1126/science.{n}", announced=date(2024, 11, 29)
        )
    html = client.get("/").content.decode()
    titles = card_titles(html)
    assert titles[:4] == ["Journal 0", "Journal 1", "Journal 2", "New arXiv"]
    assert "Cross-listed" in titles and "Older arXiv" not in html
    assert titles.index("New arXiv") < titles.index("Cross-listed")
    # The replacement is not a card: it is listed in the folded "updated papers" section.
    updated = re.search(r'<details class="digest-updated" id="updated">(.*?)</details>', html, re.S)
    assert updated is not None and "Replaced v4" in updated.group(1)
    assert "Updated paper (1)" in updated.group(1)
    assert "Replaced v4" not in titles
    assert 'href="#updated">Updated papers<span class="count">1</span>' in html
    # Both days are named, each a link to that day.
    latest = re.search(r'<p class="hero__latest">(.*?)</p>', html, re.S)
    assert latest is not None
    assert text_of(latest.group(1)) == (
        "Latest announcements: Science · Nov. 29, 2024 · arXiv · Nov. 28, 2024"
    )
    assert 'href="/?date=2024-11-28"' in latest.group(1)


def test_updated_papers_are_listed_by_category_then_id(client: Client) -> None:
    arxiv_paper(title="New", announce_type="new")
    for title, category, kind in [
        ("LG replaced", "cs.LG", "replace"),
        ("AI cross replaced", "cs.AI", "replace-cross"),
        ("CO replaced", "math.CO", "replace"),
        ("AI replaced", "cs.AI", "replace"),
    ]:
        arxiv_paper(title=title, primary_category=category, announce_type=kind, version=2)
    html = client.get("/").content.decode()
    updated = re.search(r'<ol class="updated-list">(.*?)</ol>', html, re.S)
    assert updated is not None
    titles = re.findall(r'<a class="tex" href="[^"]*">([^<]*)</a>', updated.group(1))
    # Not replacements before cross-list replacements: one order a reader can scan by field.
    assert titles == ["AI cross replaced", "AI replaced", "LG replaced", "CO replaced"]
    assert card_numbers(updated.group(1)) == ["02.", "03.", "04.", "05."]


def test_the_pitch_under_the_hero_is_in_chinese_for_chinese_readers(client: Client) -> None:
    arxiv_paper(title="A paper")
    client.cookies["lang"] = "zh-hans"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    pitch = re.search(r'<p class="hero__pitch">(.*?)</p>', html, re.S)
    assert pitch is not None
    assert text_of(pitch.group(1)).startswith(
        "AcademicHub 随时读取 arXiv、bioRxiv、medRxiv 和主要期刊的新论文，为每篇新论文写出中英文简短摘要"
    )
    assert "AcademicHub reads arXiv" not in html
    english = fresh_client().get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<p class="hero__pitch">AcademicHub reads arXiv, bioRxiv, medRxiv' in english


def test_a_card_shows_its_tldr_before_its_folded_abstract(client: Client) -> None:
    from digests.cards import cards_generate

    paper = arxiv_paper(
        title="Summarised",
        abstract="We study sparse attention. We show it halves the cost of long contexts.",
    )
    bare = arxiv_paper(title="Not summarised yet", abstract="An abstract without a card.")
    cards_generate([paper.pk])  # no LLM configured: an extractive card
    html = client.get("/").content.decode()
    card = re.search(rf'id="paper-{paper.pk}"(.*?)</li>', html, re.S)
    assert card is not None
    body = card.group(1)
    assert body.index("llm-card__tldr") < body.index('<details class="paper-card__fold">')
    assert "Extractive, no LLM configured" in body
    assert "<summary>Abstract</summary>" in body
    # Without a summary the abstract is folded too: open, it made a card several phone
    # screens long (tests/browser/test_phone_card_height.py).
    other = re.search(rf'id="paper-{bare.pk}"(.*?)</li>', html, re.S)
    assert other is not None and '<details class="paper-card__fold">' in other.group(1)
    assert "An abstract without a card." in other.group(1)


def test_load_more_continues_the_numbering_with_and_without_htmx(client: Client) -> None:
    for i in range(1, 31):
        arxiv_paper(title=f"Paper {i:02d}")
    html = client.get("/?category=cs.CL").content.decode()
    assert card_numbers(html) == [f"{i:02d}." for i in range(1, 26)]
    more = re.search(r'<a class="button button--quiet" href="([^"]+)" hx-get="([^"]+)"', html)
    assert more is not None and more.group(1) == more.group(2)
    next_url = more.group(1).replace("&amp;", "&")
    assert "category=cs.CL" in next_url and "n=26" in next_url

    plain = client.get(next_url).content.decode()
    assert "<html" in plain
    assert card_numbers(plain) == [f"{i}." for i in range(26, 31)]
    assert card_titles(plain) == [f"Paper {i}" for i in range(26, 31)]
    assert "hx-get" not in plain.split('<ol class="paper-list"')[1]

    partial = client.get(next_url, HTTP_HX_REQUEST="true")
    fragment = partial.content.decode()
    assert "<html" not in fragment and "<body" not in fragment
    assert fragment.lstrip().startswith("<li")
    assert card_numbers(fragment) == [f"{i}." for i in range(26, 31)]
    assert "load-more" not in fragment


def test_an_empty_database_shows_a_friendly_page(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No papers yet" in html and "paper-card" not in html


HOSTILE_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)> \u202eevil'
HOSTILE_ABSTRACT = '<a href="javascript:alert(2)" hx-get="/ops/sources/" hx-trigger="load">x</a>'


def test_hostile_feed_content_is_shown_as_harmless_text(client: Client) -> None:
    arxiv_paper(
        title=HOSTILE_TITLE,
        abstract=HOSTILE_ABSTRACT,
        authors=['<b onmouseover="alert(3)">Mallory</b>', "Eve \u202etxt.exe"],
        links={"abs": "javascript:alert(4)", "pdf": "data:text/html,<script>alert(5)</script>"},
    )
    journal_paper(
        title="Journal",
        abstract_html="<p>Clean <em>sanitised</em> abstract</p>",
    )
    html = client.get("/").content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert "javascript:alert(2)" not in html  # markup in a plain-text abstract is stripped
    assert 'href="javascript:' not in html and 'href="data:' not in html
    assert not re.search(r"<[^>]+\shx-get=\"/ops/", html)
    assert "\u202e" not in html
    # The sanitised journal HTML is the one place markup from a feed is kept.
    assert "<p>Clean <em>sanitised</em> abstract</p>" in html
    assert re.search(r'<div class="paper-card__abstract" hx-disable>\s*<p>Clean', html)


def test_titles_and_abstracts_are_marked_for_katex(client: Client) -> None:
    arxiv_paper(title="Bounds for $O(n^2)$", abstract="We prove $x<y$ & more.")
    html = client.get("/").content.decode()
    assert '<a class="tex" href="/papers/' in html and "Bounds for $O(n^2)$" in html
    assert '<p class="paper-card__abstract tex">We prove $x&lt;y$ &amp; more.</p>' in html
    assert "vendor/katex/katex.min.js" in html and "contrib/auto-render.min.js" in html


def test_a_signed_in_reader_sees_which_papers_they_saved(client: Client) -> None:
    saved = arxiv_paper(title="Saved one")
    arxiv_paper(title="Not saved")
    user = signed_in_reader(client)
    SavedPaper.objects.create(user=user, paper=saved)
    html = client.get("/").content.decode()
    buttons = re.findall(r'class="save-button" aria-pressed="(true|false)"', html)
    assert buttons == ["true", "false"]


def test_an_anonymous_reader_is_offered_to_log_in_to_save(client: Client) -> None:
    arxiv_paper(title="A paper")
    html = client.get("/").content.decode()
    assert 'class="save-button" href="/accounts/login/?next=/"' in html


def _count_queries(client: Client, url: str) -> int:
    cache.clear()  # count the day's contents query too, as on a cold cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _make_papers(n: int) -> list[Paper]:
    journal = arxiv_source("arxiv-cs-lg", label="arXiv cs.LG")
    papers = []
    for i in range(n):
        paper = arxiv_paper(authors=[f"Author {j}" for j in range(i % 6)])
        if i % 2:
            SightingFactory.create(source=journal, paper=paper, announce_type="cross")
        papers.append(paper)
    return papers


@pytest.mark.parametrize("signed", [False, True])
def test_the_query_count_does_not_grow_with_the_papers(client: Client, signed: bool) -> None:
    if signed:
        user = signed_in_reader(client)
    few = _make_papers(5)
    if signed:
        SavedPaper.objects.create(user=user, paper=few[0])
        client.get("/")  # the first visit creates the profile and sets the language cookie
    with_five = _count_queries(client, "/")
    _make_papers(20)
    with_twenty_five = _count_queries(client, "/")
    assert with_five == with_twenty_five
    # newest paper id, families' latest days (arXiv, other sources), previous day (one query
    # per family: here arXiv alone), the
    # page's rows, papers, sightings, summary cards, sources (+ session, user, profile and
    # saved ids when signed in, and whether the reader has a radar or topic yet: two EXISTS
    # for this one, who has neither).
    assert with_twenty_five == (15 if signed else 9)


def test_the_families_days_and_rows_are_read_once_then_cached(client: Client) -> None:
    _make_papers(5)
    cold = _count_queries(client, "/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    # A visitor's second look: newest paper id and sources; the families' days and previous
    # day are cached, the digest itself (rows, papers, sightings, cards) is the one rendered a
    # moment ago.
    assert len(queries) == cold - 7
    arxiv_paper(title="Polled just now")  # a new paper changes the cache key at once
    assert "Polled just now" in card_titles(client.get("/").content.decode())


def test_the_load_more_partial_has_a_fixed_query_count(client: Client) -> None:
    for _ in range(60):
        PaperFactory.create()
    url = f"/?date={DAY.isoformat()}&announce_type=new&n=26"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert card_numbers(response.content.decode())[0] == "26."
    assert len(queries) == 3  # papers, their sightings, their summary cards


def test_odd_parameters_are_ignored_not_errors(client: Client) -> None:
    arxiv_paper(title="A paper")
    for query in (
        {"category": "cs\x00CL"},
        {"source": "\x00"},
        {"announce_type": "<script>"},
        {"after": "-1", "n": "x"},
        {"after": "9" * 40},
        {"date": "2024-02-30"},
    ):
        assert client.get("/", query).status_code == 200


def test_medrxiv_preprints_are_labelled_medrxiv_in_cards_and_contents(client: Client) -> None:
    paper = biorxiv_paper(doi="10.1101/2024.11.01.1", primary_category="epidemiology")
    paper.links = {"abs": "https://www.medrxiv.org/content/10.1101/2024.11.01.1v1"}
    paper.save(update_fields=["links"])
    html = client.get("/").content.decode()
    assert '<span class="paper-card__source">medRxiv (Epidemiology)</span>' in html
    assert 'medRxiv (Epidemiology)<span class="count">1</span>' in html


def test_a_long_table_of_contents_folds_after_six_entries(client: Client) -> None:
    for i in range(15):
        arxiv_paper(primary_category=f"cat.{i:02d}")
    html = client.get("/").content.decode()
    lists = re.findall(r'<ul class="toc"[^>]*>(.*?)</ul>', html, re.S)
    assert [len(re.findall(r"<li>", ul)) for ul in lists] == [6, 9]
    assert "<summary>9 more sources</summary>" in html


@pytest.mark.parametrize("query", ["after=²", "n=²", "after=٣"])
def test_odd_digits_in_the_query_string_are_ignored_not_a_crash(client: Client, query: str) -> None:
    PaperFactory.create()
    assert client.get(f"/?{query}").status_code == 200


def test_an_abstract_a_feed_cut_mid_word_ends_at_a_whole_word(client: Client) -> None:
    # bioRxiv's recorded answer cuts every abstract at 200 characters, mid-word.
    biorxiv_paper(
        title="Cut short",
        abstract="Here we show that arcZ, encoding a conserved Hfq-depend",
        primary_category="microbiology",
    )
    arxiv_paper(title="Whole", abstract="The bound is tight for n = 42")
    html = client.get("/").content.decode()
    assert "encoding a conserved…</p>" in html and "Hfq-depend" not in html
    assert "The bound is tight for n = 42</p>" in html


def test_a_whole_abstract_without_a_final_full_stop_keeps_its_last_word(client: Client) -> None:
    # 12 of the recorded day's 1,504 abstracts end without a full stop; they are whole.
    [whole] = [
        item
        for item in map(arxiv_rss.normalise, arxiv_rss.parse(fixture_bytes(ARXIV_FEED)).entries)
        if item.key == "2411.18146"
    ]
    clean = paper_sanitise(whole, fetched=DAY)
    assert clean is not None
    papers_upsert(arxiv_source(), [clean])
    html = client.get("/").content.decode()
    assert "a precise mathematical framework for quantum contextuality</p>" in html
    assert "framework for quantum…" not in html


def test_no_recorded_arxiv_abstract_loses_a_word() -> None:
    items = [arxiv_rss.normalise(r) for r in arxiv_rss.parse(fixture_bytes(ARXIV_FEED)).entries]
    texts = {item.key: clean_abstract(item.abstract) for item in items}
    # Without closing punctuation, on a word of letters: what was taken for a cut before.
    unpunctuated = [
        key
        for key, text in texts.items()
        if not re.search(r"""[.!?。！？)\]}"'”’»$…:;]\s*$""", text)
        and re.search(r"\s[^\W\d_][\w-]*$", text)
    ]
    assert len(unpunctuated) == 12 and "2411.18146" in unpunctuated
    for item in items:
        text = texts[item.key]
        assert not feed_cut(text, from_preprint_server=False), item.key
        # Told nothing of the source (as the summaries' extracts are), still whole.
        assert whole_words(text) == text, item.key


def test_a_biorxiv_abstract_cut_by_the_feed_ends_on_a_whole_word_with_an_ellipsis(
    client: Client,
) -> None:
    # The recorded answer cuts every abstract at 200 characters, mid-word.
    body_ingest(biorxiv_source(), fixture_bytes("biorxiv-api-details-interval-truncated.json"))
    html = client.get("/").content.decode()
    # Two new preprints are cards; the third, a version 3, is among the updated papers.
    on_cards = re.findall(r'<p class="paper-card__abstract tex">(.*?)</p>', html)
    endings = {
        paper.key: re.findall(
            r'<p class="tex">(.*?)</p>', client.get(f"/papers/{paper.key}/").content.decode()
        )[-1]
        for paper in Paper.objects.all()
    }
    assert len(on_cards) == 2 and set(on_cards) <= set(endings.values())
    # "…subcortical anatomy ar", "…whether hi", "…a conserved Hfq-depend" as recorded.
    assert {key: text[-32:] for key, text in endings.items()} == {
        "10.64898/2026.07.13.738145": "differences in subcortical anatomy…"[-32:],
        "10.64898/2026.07.13.738249": "considerably less is known about whether…"[-32:],
        "10.64898/2025.12.19.695336": "that arcZ, encoding a conserved…"[-32:],
    }


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # A feed that says where it stopped: glued to a word, that word may be a piece of one.
        ("We map the fin. Cells of the blas...", "We map the fin. Cells of the…"),
        ("We map the fin. Cells of the blastema …", "We map the fin. Cells of the blastema…"),
        ("We map the fin. [...]", "We map the fin. …"),
        ("The bound holds for n = 42...", "The bound holds for n = 42…"),
    ],
)
def test_an_abstract_ending_in_the_feeds_ellipsis_ends_on_a_whole_word(
    text: str, shown: str
) -> None:
    assert feed_cut(text, from_preprint_server=False)
    assert whole_words(text) == shown


def test_a_paper_dated_in_the_future_does_not_take_over_the_front_page(client: Client) -> None:
    arxiv_paper(title="The arXiv day")
    journal_paper(title="Misdated", doi="10.1126/science.9", announced=date(2099, 1, 1))
    html = client.get("/").content.decode()
    assert card_titles(html) == ["The arXiv day"]
