""" "Send me a test briefing now" for a new reader whose radar has just caught its first
papers (no LLM configured, a real SMTP sink): a test asked before the matches exist sends
nothing and the page says so; asked again two minutes after they arrived (inside the shared
briefing's 5-minute cut lag, and after that period's shared briefing was made empty), it
sends exactly one email with those papers, and the page never claims what did not happen.
The regular email still briefs those matches once. Also the empty briefings pages: when the
next one comes, the test briefing in settings, and the emails' archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from digests.delivery import briefing_test_send, dispatch_due
from digests.models import Briefing, Delivery
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.smtp_sink import Sink
from tests.factories import follow, matched, paper, person, signed_in

pytestmark = pytest.mark.django_db

MAIL_QUEUE = "llm"  # briefing_test_send builds briefings: academichub.celery.TASK_ROUTES
CREATED = datetime(2026, 1, 12, 12, 30, 0, tzinfo=UTC)  # after the reader's 07:00


def _press(client: Client, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        return client.post("/briefings/test/", follow=True).content.decode()


def _send(user: User, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        return briefing_test_send(user, now=at)


def _text(message: object) -> str:
    body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return str(body.get_content())


def _new_radar(reader: User) -> Radar:
    radar = Radar.objects.create(owner=reader, name="Long documents", created_at=CREATED)
    follow(reader, radar, since=CREATED)
    return radar


def _catch(radar: Radar, src: dict[str, Source], at: datetime, n: int = 4) -> list[Paper]:
    made = [paper(src["cs"], f"Sparse attention for long documents, part {i}") for i in range(n)]
    matched(radar, made, at=at)
    return made


def test_a_test_asked_before_the_matches_then_after_them_sends_one_email_with_them(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source],
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    reader = person("alice", hour=7)
    radar = _new_radar(reader)
    client = signed_in(reader)

    # Before any match: nothing to send, and the page says so (no "on its way").
    page = _press(client, CREATED + timedelta(minutes=1))
    assert "have no new papers in the last day yet, so there is nothing to send" in page
    assert "on its way" not in page and "just sent" not in page
    assert redis_client.llen(MAIL_QUEUE) == 0
    # The task run then (as the reviewer's worker did) makes the period's shared briefing
    # empty, its window cut before the matches come.
    assert _send(reader, CREATED + timedelta(minutes=1)) == "nothing"
    [shared] = Briefing.objects.filter(radar=radar, is_test=False)
    assert shared.status == Briefing.Status.EMPTY
    assert not smtp_sink.messages and not Delivery.objects.exists()

    # The radar catches its papers; two minutes later (inside the 5-minute cut lag):
    made = _catch(radar, src, CREATED + timedelta(minutes=5))
    asked = CREATED + timedelta(minutes=7)
    page = _press(client, asked)
    assert "A test briefing is on its way to" in page
    # No count of matches the email would contradict (a paper two radars caught is one).
    assert "made now from the new papers your radars caught in the last day" in page
    assert "the email says how many" in page and "4 matches" not in page
    assert redis_client.llen(MAIL_QUEUE) == 1
    assert _send(reader, asked) == "sent"

    [message] = smtp_sink.messages
    assert message["Subject"].startswith("[Test] Daily briefing")
    text = _text(message)
    for item in made:
        assert item.title in text
    delivery = Delivery.objects.get()
    assert delivery.is_test and delivery.state == Delivery.State.SENT

    # A second press: it really was sent, so "just sent"; the task would send nothing more.
    page = _press(client, asked + timedelta(minutes=1))
    assert "A test briefing was just sent" in page
    assert redis_client.llen(MAIL_QUEUE) == 1
    assert _send(reader, asked + timedelta(minutes=1)) == "recent"
    assert len(smtp_sink.messages) == 1

    # The shared chain is untouched: tomorrow's regular email briefs those matches once.
    shared.refresh_from_db()
    assert shared.status == Briefing.Status.EMPTY
    morning = datetime(2026, 1, 13, 7, 0, tzinfo=UTC)
    for _ in range(2):  # sending twice sends nothing twice
        with time_machine.travel(morning, tick=False):
            dispatch_due(now=morning)
    assert len(smtp_sink.messages) == 2
    regular = _text(smtp_sink.messages[1])
    assert all(item.title in regular for item in made)
    assert not smtp_sink.messages[1]["Subject"].startswith("[Test]")
    # The test's own briefing is no radar briefing: not listed, not reused by the chain.
    listed = signed_in(reader).get("/briefings/").content.decode()
    assert listed.count("/briefings/radar/") >= 1
    assert Briefing.objects.filter(is_test=True).count() == 1
    tomorrow = Briefing.objects.get(radar=radar, is_test=False, period_start=morning.date())
    assert tomorrow.window_start == shared.window_end
    assert set(tomorrow.paper_ids) == {p.pk for p in made}


def test_a_test_briefing_is_reused_until_the_radar_catches_more(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    alice, bob = person("alice"), person("bob")
    radar = _new_radar(alice)
    follow(bob, radar, since=CREATED)
    _catch(radar, src, CREATED + timedelta(minutes=1), n=2)
    at = CREATED + timedelta(minutes=3)

    assert _send(alice, at) == "sent"
    assert _send(bob, at + timedelta(minutes=1)) == "sent"
    assert Briefing.objects.filter(is_test=True).count() == 1  # shared by both tests
    more = _catch(radar, src, at + timedelta(minutes=2), n=1)
    assert _send(alice, at + timedelta(minutes=4)) == "sent"
    assert Briefing.objects.filter(is_test=True).count() == 2
    assert more[0].title in _text(smtp_sink.messages[-1])


def test_the_settings_button_in_chinese_says_there_is_nothing_to_send(
    no_llm: Settings, redis_client: redis.Redis
) -> None:
    reader = person("li", language="zh-hans", card_language="zh")
    _new_radar(reader)
    page = _press(signed_in(reader), CREATED + timedelta(minutes=1))
    assert "你的雷达最近一天还没有新论文" in page
    assert "正在发往" not in page and "刚刚已发送" not in page
    assert redis_client.llen(MAIL_QUEUE) == 0


def test_an_empty_briefings_list_names_the_next_delivery_and_the_test_briefing(
    no_llm: Settings, src: dict[str, Source]
) -> None:
    reader = person("alice", hour=7)
    radar = _new_radar(reader)
    _catch(radar, src, CREATED + timedelta(minutes=1))
    client = signed_in(reader)
    with time_machine.travel(CREATED + timedelta(minutes=2), tick=False):
        pages = [client.get("/briefings/"), client.get(f"/briefings/radar/{radar.pk}/")]
    for response in pages:
        page = response.content.decode()
        assert "No briefings yet. The next one is made at your delivery time" in page
        assert "Jan. 13, 2026, 7 a.m. (UTC)" in page
        assert "once your radars have new matches" not in page
        assert 'href="/settings/"' in page and "send yourself a test briefing" in page
        assert 'href="/briefings/emails/"' in page


def test_an_empty_briefings_list_in_chinese_with_the_email_off(no_llm: Settings) -> None:
    reader = person("li", language="zh-hans", digest_frequency="off")
    _new_radar(reader)
    page = signed_in(reader).get("/briefings/").content.decode()
    assert "关闭了简报邮件" in page
    assert "测试简报" in page


def test_a_test_before_the_delivery_hour_leaves_that_days_shared_briefing_whole(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    day = datetime(2026, 1, 12, tzinfo=UTC)
    reader, other = person("alice", hour=7), person("bob", hour=7)
    radar = Radar.objects.create(owner=reader, name="Long documents", created_at=day)
    for user in (reader, other):
        follow(user, radar, since=day - timedelta(days=2))
    [night] = _catch(radar, src, day + timedelta(hours=1), n=1)

    # 03:00, before the 07:00 delivery hour: the test is built from a briefing of its own.
    assert _send(reader, day + timedelta(hours=3)) == "sent"
    assert night.title in _text(smtp_sink.messages[0])
    assert not Briefing.objects.filter(is_test=False).exists()

    # A paper caught at 05:00 is in both readers' regular emails at 07:00.
    dawn = paper(src["cs"], "Sparse attention caught at dawn")
    matched(radar, [dawn], at=day + timedelta(hours=5))
    morning = day + timedelta(hours=7)
    with time_machine.travel(morning, tick=False):
        dispatch_due(now=morning)

    regular = smtp_sink.messages[1:]
    assert sorted(m["To"] for m in regular) == sorted([reader.email, other.email])
    for message in regular:
        assert not message["Subject"].startswith("[Test]")
        text = _text(message)
        assert dawn.title in text and night.title in text
    shared = Briefing.objects.get(radar=radar, is_test=False, period_start=day.date())
    assert set(shared.paper_ids) == {night.pk, dawn.pk}
