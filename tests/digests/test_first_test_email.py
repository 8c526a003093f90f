"""A new reader's very first email is a test briefing (no LLM configured, a real SMTP sink),
made from test briefings of their radars (asked before their delivery hour), as the
first-hour review of a fresh install found it: every link in it (HTML, plain text and the
"view in browser" archive) opens for the reader, in both languages, and 404s for anyone
else; the Briefings page then shows that test instead of offering one; the subject names
the day and the email's largest theme without a theme's own count; and the confirmation
never states a total the email contradicts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from digests.delivery import briefing_test_send
from digests.models import Briefing, Delivery
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.smtp_sink import SITE_URL, Sink
from tests.factories import UserFactory, follow, matched, paper, person, signed_in

pytestmark = pytest.mark.django_db

# 12:30 UTC, before the reader's 20:00 delivery hour: the test makes briefings of its own.
NOW = datetime(2026, 1, 12, 12, 30, tzinfo=UTC)
CAUGHT = NOW - timedelta(hours=2)
_HREF = re.compile(r'href="([^"]+)"')
_TEXT_URL = re.compile(re.escape(SITE_URL) + r"[^\s<>\"]*")


def _radars(reader: User, src: dict[str, Source]) -> tuple[list[Paper], int]:
    """An owned radar with 12 cs.CL papers (more than an email lists under one theme) and a
    followed topic with 3 bioRxiv papers and one of the cs.CL ones: 16 matches, 15 papers."""
    own = Radar.objects.create(owner=reader, name="Long documents", created_at=CAUGHT)
    topic = Radar.objects.create(
        owner=person("curator"), name="Genome models", public=True, created_at=CAUGHT
    )
    cs = [paper(src["cs"], f"Sparse attention for long documents, part {i}") for i in range(12)]
    bio = [paper(src["bio"], f"Genome language model {i}") for i in range(3)]
    matched(own, cs, at=CAUGHT)
    matched(topic, [*bio, cs[0]], at=CAUGHT)
    for radar in (own, topic):
        follow(reader, radar, since=CAUGHT - timedelta(minutes=5))
    return cs + bio, 16


def _parts(message: object) -> tuple[str, str]:
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[attr-defined]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    return str(html), str(text)


def _site_paths(urls: list[str]) -> set[str]:
    return {url.removeprefix(SITE_URL) for url in urls if url.startswith(SITE_URL)}


def _first_test_email(language: str, src: dict[str, Source], smtp_sink: Sink) -> User:
    card_language = "zh" if language == "zh-hans" else "en"
    reader = person("new", hour=20, language=language, card_language=card_language)
    _radars(reader, src)
    with time_machine.travel(NOW, tick=False):
        assert briefing_test_send(reader, now=NOW) == "sent"
    assert Briefing.objects.filter(is_test=True).count() == 2
    assert not Briefing.objects.filter(is_test=False).exists()
    assert len(smtp_sink.messages) == 1
    return reader


@pytest.mark.parametrize(
    ("language", "more"), [("en", "more papers on the site"), ("zh-hans", "网站上还有")]
)
def test_every_link_of_a_first_test_email_opens_for_its_reader_and_404s_for_others(
    language: str, more: str,
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source],
) -> None:  # fmt: skip
    reader = _first_test_email(language, src, smtp_sink)
    html, text = _parts(smtp_sink.messages[0])
    assert more in html and more in text
    delivery = Delivery.objects.get()
    client = signed_in(reader)
    archive = client.get(f"/briefings/emails/{delivery.pk}/").content.decode()
    paths = _site_paths(_HREF.findall(html)) | _site_paths(_TEXT_URL.findall(text))
    paths |= {p for p in _HREF.findall(archive) if p.startswith("/briefings/")}
    briefing_pages = {p for p in paths if re.fullmatch(r"/briefings/\d+/", p)}
    assert {f"/briefings/{b.pk}/" for b in Briefing.objects.all()} == briefing_pages
    for path in sorted(paths):
        assert client.get(path).status_code == 200, path
    page = client.get(sorted(briefing_pages)[0]).content.decode()
    assert 'class="badge"' in page  # marked as a test

    other = signed_in(UserFactory.create(name="other"))
    for path in sorted(briefing_pages):
        assert other.get(path).status_code == 404
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "[Test] Daily briefing · January 12 · Computation and Language (cs.CL)"),
        ("zh-hans", "[测试] 每日简报 · 1月12日 · 计算与语言（cs.CL）"),
    ],
)
def test_the_subject_names_the_day_and_the_largest_theme_without_a_themes_count(
    language: str, subject: str,
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source],
) -> None:  # fmt: skip
    _first_test_email(language, src, smtp_sink)
    # The email has 15 papers; its largest theme (cs.CL, 12 of them) is named alone.
    assert smtp_sink.messages[0]["Subject"] == subject


def test_the_briefings_page_shows_the_test_just_sent_instead_of_offering_one(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader = person("new", hour=20)
    _radars(reader, src)
    client = signed_in(reader)
    before = client.get("/briefings/").content.decode()
    assert "send yourself a test briefing" in before and "Your test briefing" not in before

    with time_machine.travel(NOW, tick=False):
        assert briefing_test_send(reader, now=NOW) == "sent"
    delivery = Delivery.objects.get()
    tests = Briefing.objects.filter(is_test=True)
    own = Radar.objects.get(name="Long documents")

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        listed = client.get("/briefings/").content.decode()
        of_radar = client.get(f"/briefings/radar/{own.pk}/").content.decode()
    assert "send yourself a test briefing" not in listed
    assert "Your test briefing" in listed and "It is a test" in listed
    assert f'href="/briefings/emails/{delivery.pk}/"' in listed
    for briefing in tests:
        assert f'href="/briefings/{briefing.pk}/"' in listed
    assert f'href="/briefings/{tests.get(radar=own).pk}/"' in of_radar
    assert f'href="/briefings/{tests.exclude(radar=own).get().pk}/"' not in of_radar

    # Another reader of nothing sees none of it.
    other = signed_in(UserFactory.create(name="other")).get("/briefings/").content.decode()
    assert "Your test briefing" not in other
    assert not any(f"/briefings/{b.pk}/" in other for b in tests)


def test_the_briefings_page_in_chinese_shows_the_test_just_sent(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader = person("li", hour=20, language="zh-hans", card_language="zh")
    _radars(reader, src)
    with time_machine.travel(NOW, tick=False):
        assert briefing_test_send(reader, now=NOW) == "sent"
    listed = signed_in(reader).get("/briefings/").content.decode()
    assert "你的测试简报" in listed and "阅读这封测试邮件" in listed
    assert "在设置中给自己发送一封测试简报" not in listed


def test_the_confirmation_states_no_total_the_email_contradicts(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source],
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    reader = person("new", hour=20)
    _papers, matches = _radars(reader, src)
    with time_machine.travel(NOW, tick=False):
        page = signed_in(reader).post("/briefings/test/", follow=True).content.decode()
        assert briefing_test_send(reader, now=NOW) == "sent"

    assert "A test briefing is on its way to" in page
    assert "the email says how many" in page
    assert f"{matches} matches" not in page
    html, text = _parts(smtp_sink.messages[0])
    assert "15 new papers across your radars" in text
    counted = {int(n) for n in re.findall(r"(\d+) (?:new )?(?:papers?|match(?:es)?)\b", page)}
    assert counted <= {15}
