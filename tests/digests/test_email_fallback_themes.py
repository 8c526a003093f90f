"""A briefing email made without a language model, as a new reader of a fresh install gets
it: its themes are named as a researcher names them, in the reader's language: an arXiv
category by its name and code, a bioRxiv subject by its name, a journal's papers (which have
no category) by the journal, never "Multidisciplinary" nor a bare code; each heading says how
many papers it groups, and the overview names the largest themes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from digests.briefings import Item, briefing_extract
from digests.delivery import dispatch_due
from digests.email import EMAIL_HTML_LIMIT
from feeds.models import Source
from radar.models import Radar
from testkit.smtp_sink import SITE_URL, Sink
from tests.factories import follow, journal_source, matched, paper, person

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
# What a heading must never be: a bare category code or the journals' catch-all discipline.
BARE_CODE = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a received message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


def text_headings(text: str) -> list[str]:
    """The theme headings of the plain-text part ("-- title --", a pair on two lines)."""
    return [h.strip() for h in re.findall(r"^-- (.*?)(?: --)?$", text, re.M)]


def html_headings(html: str) -> list[str]:
    """The theme headings of the HTML part, each language's text on its own."""
    found = []
    for heading in re.findall(r"<h3[^>]*>(.*?)</h3>", html, re.S):
        found += [t.strip() for t in re.findall(r">([^<>]+)<", heading) if t.strip()]
    return found


def reader_with_radars(card_language: str, language: str) -> User:
    """A reader whose two radars caught arXiv papers of two categories and Nature papers."""
    reader = person(f"fresh-{card_language}", hour=7, language=language,
                    card_language=card_language)  # fmt: skip
    arxiv = Source.objects.create(
        slug="arxiv-all", kind=Source.Kind.ARXIV_RSS, label="arXiv", url="https://x.test/a"
    )
    nature = journal_source(slug="nature", label="Nature")
    assert nature.discipline == "Multidisciplinary"
    language_radar = Radar.objects.create(owner=reader, name="Language models")
    brain_radar = Radar.objects.create(owner=reader, name="Brains and machines")
    at = MORNING - timedelta(hours=9)
    language_papers = [
        paper(arxiv, f"Long-context language models, study {n}", primary_category="cs.CL",
              categories=["cs.CL", "cs.LG"])
        for n in range(3)
    ]  # fmt: skip
    brain_papers = [
        paper(arxiv, f"Neural codes of speech, study {n}", primary_category="q-bio.NC",
              categories=["q-bio.NC"])
        for n in range(2)
    ]  # fmt: skip
    journal_papers = [paper(nature, f"Language in the human cortex, part {n}") for n in range(2)]
    matched(language_radar, language_papers, at=at)
    matched(brain_radar, brain_papers + journal_papers, at=at)
    follow(reader, language_radar)
    follow(reader, brain_radar)
    return reader


def sent_email(smtp_sink: Sink) -> tuple[str, str]:
    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)
    [message] = smtp_sink.messages
    text, html = parts(message)
    assert len(html.encode()) < EMAIL_HTML_LIMIT
    for url in re.findall(r'href="([^"]*)"', html) + re.findall(r"https?://\S+", text):
        assert url.startswith(f"{SITE_URL}/"), url
    return text, html


def assert_no_code_or_catch_all(text: str, html: str) -> None:
    headings = text_headings(text) + html_headings(html)
    assert headings
    for heading in headings:
        assert not BARE_CODE.match(heading), heading
        assert "Multidisciplinary" not in heading and "多学科" not in heading, heading
    assert "Multidisciplinary" not in text + html
    assert "多学科" not in text + html


def test_an_english_readers_email_without_an_llm_names_categories_and_the_journal(
    no_llm: Settings, mail: Settings, smtp_sink: Sink
) -> None:
    reader_with_radars("en", "en")

    text, html = sent_email(smtp_sink)

    assert "-- Computation and Language (cs.CL) · 3 papers --" in text
    assert "-- Neurons and Cognition (q-bio.NC) · 2 papers --" in text
    assert "-- Nature · 2 papers --" in text
    for heading in (
        "Computation and Language (cs.CL) · 3 papers",
        "Neurons and Cognition (q-bio.NC) · 2 papers",
        "Nature · 2 papers",
    ):
        assert heading in html_headings(html)
    # Each radar's overview names its themes by name.
    assert "3 new papers, in Computation and Language (cs.CL)" in text
    assert "4 new papers, in Neurons and Cognition (q-bio.NC) and Nature" in text
    assert "4 new papers, in Neurons and Cognition (q-bio.NC) and Nature" in html
    assert_no_code_or_catch_all(text, html)


def test_a_chinese_readers_email_without_an_llm_names_them_in_chinese(
    no_llm: Settings, mail: Settings, smtp_sink: Sink
) -> None:
    reader_with_radars("zh", "zh-hans")

    text, html = sent_email(smtp_sink)

    assert "-- 计算与语言（cs.CL）· 3 篇 --" in text
    assert "-- 神经元与认知（q-bio.NC）· 2 篇 --" in text
    assert "-- Nature · 2 篇 --" in text
    assert "计算与语言（cs.CL）· 3 篇" in html_headings(html)
    assert "3 篇新论文，涉及计算与语言（cs.CL）" in text
    assert "4 篇新论文，涉及神经元与认知（q-bio.NC）和 Nature" in text
    assert "4 篇新论文，涉及神经元与认知（q-bio.NC）和 Nature" in html
    assert "Computation and Language" not in text + html
    assert_no_code_or_catch_all(text, html)


def test_a_reader_of_both_languages_gets_each_heading_in_chinese_then_english(
    no_llm: Settings, mail: Settings, smtp_sink: Sink
) -> None:
    reader_with_radars("both", "zh-hans")

    text, html = sent_email(smtp_sink)

    assert "-- 计算与语言（cs.CL）· 3 篇\n-- Computation and Language (cs.CL) · 3 papers --" in text
    assert "-- Nature · 2 篇\n-- Nature · 2 papers --" in text
    headings = html_headings(html)
    first = headings.index("计算与语言（cs.CL）· 3 篇")
    assert headings[first + 1] == "Computation and Language (cs.CL) · 3 papers"
    assert "4 篇新论文，涉及神经元与认知（q-bio.NC）和 Nature" in text
    assert "4 new papers, in Neurons and Cognition (q-bio.NC) and Nature" in text
    assert_no_code_or_catch_all(text, html)


def item(ref: int, *, categories: tuple[str, ...] = (), journal: str = "") -> Item:
    return Item(ref=f"P{ref}", paper_id=ref, score=1.0, title=f"Paper {ref}", title_zh="",
                tldr="", keywords=(), categories=categories, source="", field="Biology",
                journal=journal)  # fmt: skip


def test_subjects_are_named_a_lone_paper_gets_its_own_theme_and_the_rest_are_other_papers(
    no_llm: Settings,
) -> None:
    # Two bioRxiv preprints in one subject, one arXiv paper of a category without a name.
    few = [item(1, categories=("bioinformatics",)), item(2, categories=("bioinformatics",)),
           item(3, categories=("cs.ZZ",))]  # fmt: skip
    # Eight papers of eight journals: more than the themes a briefing lists.
    many = [item(n, journal=f"Journal {n}") for n in range(1, 9)]

    en = briefing_extract(few, "en", mode="no_llm")
    zh = briefing_extract(few, "zh", mode="no_llm")
    scattered = briefing_extract(many, "en", mode="no_llm")

    assert [t["title"] for t in en["themes"]] == ["Bioinformatics · 2 papers", "cs.ZZ · 1 paper"]
    assert en["headline"] == "3 new papers, in Bioinformatics and cs.ZZ"
    assert [t["title"] for t in zh["themes"]] == ["生物信息学 · 2 篇", "cs.ZZ · 1 篇"]
    assert zh["headline"] == "3 篇新论文，涉及生物信息学和 cs.ZZ"
    assert [t["title"] for t in scattered["themes"]] == ["8 papers"]
    assert scattered["headline"] == "8 new papers"
