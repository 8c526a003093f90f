"""The briefing email as a real SMTP server receives it: one per reader and period, covering
every radar they own and topic they follow, in their summary language; headers (Message-ID
as stored, one-click List-Unsubscribe on SITE_URL), a plain-text part that reads alone and an
HTML part, every link absolute, numbering continuous, a paper caught twice listed once, TeX
as readable text, escaping, and its size."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from io import StringIO
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from pytest_django.fixtures import Settings

from digests.cards import text_hash
from digests.delivery import dispatch_due
from digests.email import unsubscribe_token_read
from digests.models import Briefing, Card, Delivery
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.briefing_llm import EN, ZH, briefing_requests
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import SITE_URL, Sink
from tests.factories import follow, matched, paper, person

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
TEX = re.compile(r"\$|\\[A-Za-z]+|[_^]\{")


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
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


def links(text: str, html: str) -> list[str]:
    """Every link of both parts: the HTML's hrefs and the text's URLs."""
    return re.findall(r'href="([^"]*)"', html) + re.findall(r"https?://\S+", text)


@pytest.fixture
def reader_of_three(src: dict[str, Source]) -> tuple[User, list[Radar]]:
    """A Chinese reader owning two radars (one caught a paper the other caught too, one has
    nothing new) and following a public topic with TeX in its papers' titles."""
    reader = person("zh-reader", hour=7, language="zh-hans", card_language="zh")
    attention = Radar.objects.create(owner=reader, name="Long documents")
    genomes = Radar.objects.create(owner=reader, name="Genome models")
    quiet = Radar.objects.create(owner=reader, name="Quiet radar")
    holes = Radar.objects.create(owner=person("curator"), name="Black holes", public=True)
    shared = paper(src["cs"], "Sparse attention for long documents")
    at = MORNING - timedelta(hours=9)
    matched(
        attention, [shared, paper(src["med"], "Clinical notes with sparse transformers")], at=at
    )
    matched(genomes, [paper(src["bio"], "Long-range attention over genomes"), shared], at=at)
    matched(
        holes,
        [
            paper(src["cs"], r"A $10^{10}\,M_\odot$ black hole at $z \sim 7$"),
            paper(src["bio"], r"Accretion of $\mathrm{H}_2$ clouds scales as $\alpha^2$"),
        ],
        at=at,
    )
    for radar in (attention, genomes, quiet, holes):
        follow(reader, radar)
    return reader, [attention, genomes, holes, quiet]


def test_a_chinese_reader_of_two_radars_and_a_topic_gets_one_chinese_email_after_two_sends(
    briefing_llm: FakeLLM,
    mail: Settings,
    smtp_sink: Sink,
    reader_of_three: tuple[User, list[Radar]],
) -> None:
    reader, radars = reader_of_three
    at = MORNING - timedelta(hours=4)  # before the delivery hour: the command sends anyway

    for _ in range(2):
        out = StringIO()
        with time_machine.travel(at, tick=False):
            call_command("briefings", "--user", reader.email, "--send", stdout=out)

    [message] = smtp_sink.messages
    line = json.loads(out.getvalue())
    assert line["user"] == reader.email and line["deliveries"] == {}
    text, html = parts(message)
    # The month without a leading zero, as Chinese dates are written.
    assert message["Subject"] == "每日简报 · 1月12日 · 长输入的稀疏注意力 1"
    # Only Chinese briefing text: none of the English one.
    for english in (EN["headline"], EN["synthesis"], EN["insight"], EN["why"], EN["title"]):
        assert english not in text and english not in html
    assert ZH["headline"] in text and ZH["synthesis"] in html
    for name in ("Long documents", "Genome models", "Black holes"):
        assert f"==== {name} ====" in text and name in html
    assert "没有新内容：Quiet radar。" in text  # one line, no section
    for url in links(text, html):
        assert url.startswith(f"{SITE_URL}/"), url
    assert not TEX.search(text), TEX.findall(text)
    assert "A 10¹⁰ M⊙ black hole at z ∼ 7" in text and "H₂ clouds scales as α²" in text
    assert "A 10¹⁰ M⊙ black hole at z ∼ 7" in html
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{SITE_URL}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Shared briefings: one Chinese one per radar with new papers, none in English.
    assert len(briefing_requests(briefing_llm)) == 3
    assert not Briefing.objects.filter(language="en").exists()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.language, delivery.user) == ("sent", "zh", reader)
    assert len(delivery.briefing_ids) == 4  # the quiet radar's empty one included


def test_numbers_run_on_through_the_email_and_a_paper_caught_twice_is_listed_once(
    briefing_llm: FakeLLM,
    mail: Settings,
    smtp_sink: Sink,
    reader_of_three: tuple[User, list[Radar]],
) -> None:
    reader, _ = reader_of_three
    reader.profile.card_language = "en"
    reader.profile.save()

    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    # Full listings ("[n] Title" at the start of a line) are numbered 1, 2, 3 … in order.
    listed = [int(n) for n in re.findall(r"^\[(\d+)\] ", text, re.M)]
    assert listed == list(range(1, len(listed) + 1)) and len(listed) == 5
    assert len(re.findall(r"^\[\d+\] Sparse attention for long documents$", text, re.M)) == 1
    assert "caught by Genome models, Long documents" in text
    assert html.count(">Sparse attention for long documents</a>") == 1
    # The overview: how many papers across which radars, three to read first.
    assert "5 new papers across your radars: Genome models (2) · Long documents (2) · Black" in text
    assert text.index("Read these first") < text.index("==== Long documents ====")
    # The reader's own radars first, then the topic; the quiet one in one line.
    assert text.index("==== Long documents ====") < text.index("==== Black holes ====")
    assert "Nothing new in: Quiet radar." in text
    assert "==== Quiet radar ====" not in text


def test_the_email_carries_its_stored_message_id_view_in_browser_and_absolute_links(
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
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SENT
    assert message["To"] == reader.email
    assert message["From"] == "AcademicHub <briefings@academichub.example>"
    assert message["Subject"] == "Daily briefing · January 12 · Sparse attention for long inputs 1"
    assert message["Message-ID"].strip() == delivery.message_id
    assert delivery.message_id.endswith("@academichub.example>")
    token = message["List-Unsubscribe"][1:-1].rstrip("/").rsplit("/", 1)[1]
    assert unsubscribe_token_read(token) == (reader.pk, None)
    text, html = parts(message)
    view = f"{SITE_URL}/briefings/emails/{delivery.pk}/"
    assert f'href="{view}"' in html and f"View in your browser: {view}" in text
    keys = {p.key for p in papers}
    assert set(re.findall(rf'href="{re.escape(SITE_URL)}/papers/([^"]+)/"', html)) == keys
    assert set(re.findall(rf"{re.escape(SITE_URL)}/papers/(\S+)/", text)) == keys
    for key in keys:
        assert client.get(f"/papers/{key}/").status_code == 200
    briefing = Briefing.objects.get()
    assert f"{SITE_URL}/briefings/{briefing.pk}/" in text
    assert "Computer Science ↔ Biology" in text and EN["insight"] in text
    assert "Written by a language model (fake-model)" in text
    for url in links(text, html):
        assert url.startswith(f"{SITE_URL}/"), url


def test_a_reader_wanting_both_gets_chinese_and_english_side_by_side_in_one_email(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    reader = person("both", hour=7, language="zh-hans", card_language="both")
    follow(reader, radar)

    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    assert message["Subject"].startswith("每日简报 · ")
    assert '<html lang="zh-Hans">' in html
    # Each item holds both languages, Chinese first, next to each other; the briefing is
    # not repeated as a second block.
    assert html.count(ZH["headline"]) == 1 and html.count(EN["headline"]) == 1
    zh_title = html.index('<div lang="zh-Hans" style="display:inline-block')
    assert html.index(ZH["title"]) < html.index(EN["title"]) < html.index(ZH["synthesis"])
    assert zh_title < html.index(EN["title"])
    assert text.index(ZH["insight"]) < text.index(EN["insight"])
    assert text.count("==== Long documents ====") == 1
    delivery = Delivery.objects.get()
    languages = Briefing.objects.filter(pk__in=delivery.briefing_ids).values_list(
        "language", flat=True
    )
    assert delivery.language == "both" and sorted(languages) == ["en", "zh"]


def test_the_html_is_one_600px_column_with_inline_styles_readable_in_dark_mode_and_small(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar, papers: list[Paper]
) -> None:
    follow(person("reader", hour=7), radar)

    dispatch()

    _, html = parts(smtp_sink.messages[0])
    assert "max-width:600px" in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "<script" not in html and "<img" not in html and "<link" not in html
    # Every heading and paragraph carries its own colour and size (no stylesheet needed).
    for tag in re.findall(r"<(?:h1|h2|h3|p)\b[^>]*>", html):
        assert 'style="' in tag, tag
    assert len(html.encode()) < 100_000


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
        prompt_version="extractive-v2", model="extractive", status=Card.Status.EXTRACTIVE,
        en={"tldr": "An extractive TL;DR of the first paper."},
    )  # fmt: skip
    follow(person("reader", hour=7), radar)

    dispatch()

    text, html = parts(smtp_sink.messages[0])
    assert "Built without a language model" in text and "Built without a language model" in html
    assert "An extractive TL;DR of the first paper." in text
    assert "Written by a language model" not in text
    # Without a model there are no links between fields: the section is left out.
    assert "Across fields" not in text and "Across fields" not in html


def test_an_email_of_many_papers_and_radars_stays_under_100_kb_in_both_languages(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader = person("many", hour=7, card_language="both")
    for r in range(6):
        radar = Radar.objects.create(owner=reader, name=f"Radar {r}")
        made = [
            paper(src["cs"], f"A long paper title about sparse attention {r}-{n} " + "x" * 150)
            for n in range(70)
        ]
        matched(radar, made, at=MORNING - timedelta(hours=5))
        follow(reader, radar)

    dispatch()

    [message] = smtp_sink.messages
    text, html = parts(message)
    assert len(html.encode()) < 100_000
    assert "more papers on the site" in text
    assert all(f"==== Radar {r} ====" in text for r in range(6))


def test_the_unsubscribe_link_of_one_reader_names_only_that_reader(
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
    assert unsubscribe_token_read(tokens[alice.email]) == (alice.pk, None)
    assert unsubscribe_token_read(tokens[bob.email]) == (bob.pk, None)
