"""The briefing email as a real SMTP server receives it: headers (Message-ID as stored,
List-Unsubscribe with an HTTPS URL, one-click), a plain-text and an HTML part, the reader's
languages, links back to the briefing and to papers that exist, escaping, and its size."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from digests.cards import text_hash
from digests.delivery import dispatch_due
from digests.email import unsubscribe_token_read
from digests.models import Briefing, Card, Delivery
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import SITE_URL, Sink
from tests.factories import follow, matched, paper, person

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def radar() -> Radar:
    return Radar.objects.create(owner=person("owner"), name="Long documents", public=True)


@pytest.fixture
def papers(src: dict[str, Source], radar: Radar) -> list[Paper]:
    made = [
        paper(src["cs"], "Sparse attention for long documents"),
        paper(src["bio"], "Long-range attention over genome sequences"),
        paper(src["med"], "Summarising clinical notes with sparse transformers"),
    ]
    matched(radar, made, at=MORNING - timedelta(hours=10))
    return made


def dispatch(now: datetime = MORNING) -> None:
    with time_machine.travel(now, tick=False):
        dispatch_due(now=now)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a received message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_the_email_carries_both_parts_its_stored_message_id_and_a_one_click_unsubscribe(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    reader = person("reader", hour=7)
    follow(reader, radar)

    dispatch()

    [message] = smtp_sink.messages
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SENT
    assert message["To"] == reader.email
    assert message["From"] == "AcademicHub <briefings@academichub.example>"
    assert message["Subject"] == (
        "Daily briefing · Long documents · Sparse attention methods cut the memory of "
        "long-document models this week."
    )
    # (Folded onto a second line by the sender: the parsed value keeps the fold's space.)
    assert message["Message-ID"].strip() == delivery.message_id
    assert delivery.message_id.endswith("@academichub.example>")
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{SITE_URL}/unsubscribe/") and unsubscribe.endswith("/>")
    token = unsubscribe[1:-1].rstrip("/").rsplit("/", 1)[1]
    assert unsubscribe_token_read(token) == (reader.pk, radar.pk)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "Sparse attention methods cut the memory" in text
    assert "Sparse attention methods cut the memory" in html
    assert "Written by a language model (fake-model)" in text


def test_every_paper_link_in_the_email_leads_to_a_paper_of_the_briefing(
    briefing_llm: FakeLLM,
    mail: Settings,
    smtp_sink: Sink,
    radar: Radar,
    papers: list[Paper],
    client: Client,
) -> None:
    reader = person("reader", hour=7)
    follow(reader, radar)

    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    briefing = Briefing.objects.get()
    keys = {p.key for p in papers}
    html_links = set(re.findall(rf'href="{re.escape(SITE_URL)}/papers/([^"]+)/"', html))
    text_links = set(re.findall(rf"{re.escape(SITE_URL)}/papers/(\S+)/", text))
    assert html_links == keys and text_links == keys
    for key in html_links:
        assert client.get(f"/papers/{key}/").status_code == 200
    page = f"{SITE_URL}/briefings/{briefing.pk}/"
    assert f'href="{page}"' in html and page in text
    # Cited as numbered in the briefing, best first.
    assert "[1] Sparse attention for long documents (arXiv (cs.CL))" in text
    assert "[2] Long-range attention over genome sequences" in text
    assert "Computer Science ↔ Biology" in text
    assert f"{SITE_URL}/settings/" in text


def test_the_html_is_one_600px_column_readable_in_dark_mode_and_small(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    follow(person("reader", hour=7), radar)

    dispatch()

    _, html = parts(smtp_sink.messages[0])
    assert "max-width:600px" in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "<script" not in html and "<img" not in html
    assert len(html.encode()) < 100_000


def test_a_chinese_reader_gets_the_chinese_briefing_first_in_a_chinese_page(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    reader = person("zh", hour=7, language="zh-hans")
    follow(reader, radar, language="both")

    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    assert "本期稀疏注意力方法" in message["Subject"]
    assert '<html lang="zh-Hans">' in html
    zh, en = html.index('<div lang="zh-Hans"'), html.index('<div lang="en"')
    assert zh < en
    assert text.index("本期稀疏注意力方法") < text.index("Sparse attention methods")
    delivery = Delivery.objects.get()
    assert delivery.briefing_zh is not None and delivery.briefing_en is not None


def test_feed_text_is_escaped_in_the_html_part(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source], radar: Radar
) -> None:
    evil = paper(src["cs"], '<img src=x onerror="alert(1)"> Sparse attention')
    matched(radar, [evil], at=MORNING - timedelta(hours=1))
    follow(person("reader", hour=7), radar)

    dispatch()

    text, html = parts(smtp_sink.messages[0])
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Sparse attention" in html
    assert '<img src=x onerror="alert(1)"> Sparse attention' in text  # plain text is inert


def test_a_briefing_made_without_a_model_says_so_and_lists_each_summary(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    Card.objects.create(
        paper=papers[0], text_hash=text_hash(papers[0].title, papers[0].abstract),
        prompt_version="extractive-v1", model="extractive", status=Card.Status.EXTRACTIVE,
        en={"tldr": "An extractive TL;DR of the first paper."},
    )  # fmt: skip
    follow(person("reader", hour=7), radar)

    dispatch()

    text, html = parts(smtp_sink.messages[0])
    assert "Built without a language model" in text and "Built without a language model" in html
    assert "An extractive TL;DR of the first paper." in text
    assert "Best matches" in text and "Read first" not in text


def test_a_briefing_of_many_papers_stays_under_100_kb_in_both_languages(
    no_llm: Settings,
    mail: Settings,
    smtp_sink: Sink,
    src: dict[str, Source],
    radar: Radar,
    user_with_many: None,
) -> None:
    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    assert len(html.encode()) < 100_000
    assert "more papers on the site" in text
    assert "10 more matches with lower scores are in the radar's feed." in text


@pytest.fixture
def user_with_many(src: dict[str, Source], radar: Radar) -> User:
    made = [
        paper(src["cs"], f"A long paper title about sparse attention, number {n} " + "x" * 150)
        for n in range(210)
    ]
    matched(radar, made, at=MORNING - timedelta(hours=5))
    reader = person("many", hour=7)
    follow(reader, radar, language="both")
    return reader


def test_the_unsubscribe_link_of_one_user_names_only_that_users_subscription(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    alice, bob = person("a", hour=7), person("b", hour=7)
    follow(alice, radar)
    follow(bob, radar)

    dispatch()

    tokens = {
        m["To"]: urlsplit(m["List-Unsubscribe"][1:-1]).path.split("/")[2]
        for m in smtp_sink.messages
    }
    assert unsubscribe_token_read(tokens[alice.email]) == (alice.pk, radar.pk)
    assert unsubscribe_token_read(tokens[bob.email]) == (bob.pk, radar.pk)
