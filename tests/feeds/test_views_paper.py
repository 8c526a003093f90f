"""The paper page (`/papers/<key>/`), its citation meta tags, and the .bib/.ris downloads."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from radar.models import SavedPaper
from tests.factories import (
    SightingFactory,
    arxiv_paper,
    arxiv_source,
    biorxiv_paper,
    journal_paper,
    journal_source,
    signed_in_reader,
)
from tests.pages import braces_balanced, text_of

pytestmark = pytest.mark.django_db


def meta(html: str, name: str) -> list[str]:
    return re.findall(rf'<meta name="{name}" content="([^"]*)">', html)


def test_an_arxiv_paper_page_has_highwire_citation_tags(client: Client) -> None:
    paper = arxiv_paper(
        key="2411.17700",
        arxiv_id="2411.17700",
        version=2,
        title="Sparse attention",
        authors=["Ada Lovelace", "Charles Babbage"],
        published=date(2024, 11, 26),
        journal_doi="10.1103/physrevd.1.1",
        primary_category="cs.CL",
    )
    response = client.get("/papers/2411.17700/")
    assert response.status_code == 200
    html = response.content.decode()
    assert meta(html, "citation_title") == ["Sparse attention"]
    assert meta(html, "citation_author") == ["Ada Lovelace", "Charles Babbage"]
    assert meta(html, "citation_publication_date") == ["2024/11/26"]
    assert meta(html, "citation_online_date") == ["2024/11/28"]
    assert meta(html, "citation_arxiv_id") == ["2411.17700"]
    assert meta(html, "citation_doi") == ["10.1103/physrevd.1.1"]
    assert meta(html, "citation_pdf_url") == [paper.links["pdf"]]
    assert meta(html, "citation_abstract_html_url") == ["https://arxiv.org/abs/2411.17700"]
    assert meta(html, "citation_journal_title") == []
    assert "<title>Sparse attention · AcademicHub</title>" in html
    assert "arXiv (cs.CL)" in html and "updated" not in text_of(html).lower()


def test_a_doi_key_with_slashes_resolves_and_names_the_journal(client: Client) -> None:
    journal_paper(
        doi="10.1126/science.adq0001",
        title="A journal article",
        abstract_html="<p>Sanitised <em>HTML</em></p>",
    )
    response = client.get("/papers/10.1126/science.adq0001/")
    assert response.status_code == 200
    html = response.content.decode()
    assert meta(html, "citation_journal_title") == ["Science"]
    assert meta(html, "citation_doi") == ["10.1126/science.adq0001"]
    assert meta(html, "citation_arxiv_id") == []
    assert "<p>Sanitised <em>HTML</em></p>" in html
    assert 'href="/papers/10.1126/science.adq0001.bib"' in html
    assert 'href="/papers/10.1126/science.adq0001.ris"' in html


def test_a_biorxiv_paper_names_the_server_and_links_the_journal_version(client: Client) -> None:
    biorxiv_paper(doi="10.1101/2024.1.1.1", journal_doi="10.1038/s1")
    html = client.get("/papers/10.1101/2024.1.1.1/").content.decode()
    assert meta(html, "citation_journal_title") == ["bioRxiv"]
    assert 'href="https://doi.org/10.1038/s1"' in html and "Journal version" in html


def categories_line(html: str) -> str:
    match = re.search(r"<dt>(?:Categories|分类)</dt><dd>(.*?)</dd>", html, re.S)
    assert match is not None, html
    return text_of(match.group(1))


def test_the_categories_line_names_arxiv_categories_and_preprint_subjects(client: Client) -> None:
    arxiv = arxiv_paper(primary_category="math.CO", categories=["math.CO", "cs.DM"])
    biorxiv = biorxiv_paper(doi="10.1101/2024.11.20.624000", primary_category="microbiology")
    english = {p.key: categories_line(client.get(f"/papers/{p.key}/").content.decode())
               for p in (arxiv, biorxiv)}  # fmt: skip
    assert english == {arxiv.key: "math.CO, cs.DM", biorxiv.key: "Microbiology"}
    chinese = {
        p.key: categories_line(
            client.get(f"/papers/{p.key}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        )
        for p in (arxiv, biorxiv)
    }
    # As the cards' source labels show them: the code and its name.
    assert chinese == {arxiv.key: "math.CO 组合数学, cs.DM 离散数学", biorxiv.key: "微生物学"}


def test_the_page_lists_the_feeds_the_paper_appeared_in(client: Client) -> None:
    paper = arxiv_paper(source=arxiv_source("arxiv-cs-cl", label="arXiv cs.CL"))
    SightingFactory.create(
        source=arxiv_source("arxiv-cs-lg", label="arXiv cs.LG"),
        paper=paper,
        announce_type="cross",
    )
    html = client.get(f"/papers/{paper.key}/").content.decode()
    feeds = re.search(r'<ul class="paper-page__feeds">(.*?)</ul>', html, re.S)
    assert feeds is not None
    lines = [text_of(li) for li in re.findall(r"<li>(.*?)</li>", feeds.group(1), re.S)]
    assert len(lines) == 2
    assert lines[0].startswith("arXiv cs.CL · new · first seen ")
    assert lines[1].startswith("arXiv cs.LG · cross-list · first seen ")


def test_an_unknown_key_is_404(client: Client) -> None:
    assert client.get("/papers/2411.99999/").status_code == 404
    assert client.get("/papers/2411.99999.bib").status_code == 404
    assert client.get("/papers/10.1/nothing.ris").status_code == 404


def test_the_bibtex_download_is_an_attachment_that_parses(client: Client) -> None:
    journal_paper(doi="10.1126/science.adq0002", title="Braces {in} $x^{2}$ title")
    response = client.get("/papers/10.1126/science.adq0002.bib")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".bib" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("@article{lovelace2024braces,")
    assert braces_balanced(text)
    assert "doi = {10.1126/science.adq0002}" in text


def test_the_ris_download_ends_each_record(client: Client) -> None:
    paper = arxiv_paper(authors=["Ada Lovelace", "Alan Turing"])
    response = client.get(f"/papers/{paper.key}.ris")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{paper.key}.ris"'
    text = response.content.decode()
    assert text.splitlines()[0].startswith("TY  - ")
    assert text.count("AU  - ") == 2
    assert text.rstrip().endswith("ER  -")


def test_hostile_content_on_the_paper_page_is_inert(client: Client) -> None:
    paper = arxiv_paper(
        title='"><script>alert(1)</script>',
        authors=['x" onload="alert(2)', "\u202eEve"],
        abstract="<img src=x onerror=alert(3)> hx-post=/x",
        links={"abs": "javascript:alert(4)", "pdf": "https://arxiv.org/pdf/1"},
        journal_ref="<svg onload=alert(5)>",
    )
    html = client.get(f"/papers/{paper.key}/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    # The only SVG on the page is the star icon (templates/_icon.html), never the feed's.
    assert "<svg onload" not in html and html.count("<svg") == html.count('<svg class="icon ')
    assert meta(html, "citation_title") == ["&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert meta(html, "citation_author") == ["x&quot; onload=&quot;alert(2)", "Eve"]
    assert 'href="javascript:' not in html
    assert meta(html, "citation_abstract_html_url") == [f"http://testserver/papers/{paper.key}/"]
    assert "\u202e" not in html


def test_a_signed_in_reader_sees_the_saved_state(client: Client) -> None:
    paper = arxiv_paper()
    user = signed_in_reader(client)
    SavedPaper.objects.create(user=user, paper=paper)
    html = client.get(f"/papers/{paper.key}/").content.decode()
    assert 'class="save-button" aria-pressed="true"' in html


def test_the_page_has_no_llm_card_placeholder(client: Client) -> None:
    paper = arxiv_paper()
    html = client.get(f"/papers/{paper.key}/").content.decode()
    for word in ("summary", "TL;DR", "coming soon", "LLM"):
        assert word.lower() not in text_of(html).lower()


def test_the_paper_page_query_count_is_fixed(client: Client) -> None:
    paper = journal_paper()
    for i in range(5):
        SightingFactory.create(source=journal_source(f"j{i}", f"Journal {i}"), paper=paper)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/papers/{paper.key}/")
    assert len(queries) == 3  # the paper, its sightings with their sources, its summary card
