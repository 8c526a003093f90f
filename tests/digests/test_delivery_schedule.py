"""Briefing emails at each subscriber's local hour, through a real SMTP server on loopback.
Time is mocked (time-machine) and the dispatcher runs every 15 minutes, as beat runs it:
users in Shanghai, Berlin and Los Angeles get the daily briefing at 07:00 their time, weekly
ones once a week on their day, across DST changes, and never twice."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from digests.delivery import dispatch_due
from digests.models import Briefing, Delivery
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.smtp_sink import Sink, mail_through
from tests.factories import follow, matched, paper, person

pytestmark = pytest.mark.django_db

QUARTER = timedelta(minutes=15)


@pytest.fixture
def mail(settings: Settings, smtp_sink: Sink, no_llm: Settings) -> Settings:
    return mail_through(settings, smtp_sink)


@pytest.fixture
def topic() -> Radar:
    owner = person("curator")
    return Radar.objects.create(owner=owner, name="Long context", public=True)


def feed(radar: Radar, source: Source, start: datetime, days: int, every: timedelta) -> list[Paper]:
    """A paper matched every `every` from `start` for `days` days."""
    count = int(timedelta(days=days) / every)
    papers = [paper(source, f"Long-context paper {n}") for n in range(count)]
    matched(radar, papers, at=start, step=every)
    return papers


def run(start: datetime, end: datetime, step: timedelta = QUARTER) -> None:
    """The beat: `dispatch_due` at `start`, every `step`, until `end`."""
    moment = start
    while moment <= end:
        with time_machine.travel(moment, tick=False):
            dispatch_due(now=moment)
        moment += step


def local_sends(user: User, zone: str) -> list[datetime]:
    """When the user's briefings were sent, in their time zone."""
    tz = zoneinfo.ZoneInfo(zone)
    return [
        d.sent_at.astimezone(tz).replace(tzinfo=None)
        for d in Delivery.objects.filter(user=user, state=Delivery.State.SENT).order_by("sent_at")
        if d.sent_at is not None
    ]


ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/Los_Angeles")


def test_each_reader_gets_the_daily_briefing_at_seven_their_time_once_a_day(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    feed(topic, src["cs"], start - timedelta(days=1), days=4, every=timedelta(hours=3))
    readers = {zone: person(zone.split("/")[1].lower(), zone=zone, hour=7) for zone in ZONES}
    for reader in readers.values():
        follow(reader, topic, since=start)

    run(start, start + timedelta(days=3) - QUARTER)

    expected = {
        # 07:00 in Shanghai is 23:00 UTC the day before: its 12 January came before the run.
        "Asia/Shanghai": [datetime(2026, 1, d, 7, 0) for d in (13, 14, 15)],
        "Europe/Berlin": [datetime(2026, 1, d, 7, 0) for d in (12, 13, 14)],
        "America/Los_Angeles": [datetime(2026, 1, d, 7, 0) for d in (12, 13, 14)],
    }
    for zone, reader in readers.items():
        assert local_sends(reader, zone) == expected[zone], zone
        assert len(smtp_sink.to(reader.email)) == 3
    # One briefing per local day, shared: cut by whoever's 07:00 came first.
    days = Briefing.objects.filter(radar=topic, cadence="day", language="en")
    assert days.count() == 4
    assert all(b.status == Briefing.Status.EXTRACTIVE for b in days)
    # Consecutive windows: each match briefed exactly once.
    windows = sorted((b.window_start, b.window_end) for b in days)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    briefed = [pid for b in days for pid in b.paper_ids]
    assert len(briefed) == len(set(briefed))


def test_a_weekly_reader_gets_one_briefing_a_week_on_their_day(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)  # a Monday
    feed(topic, src["cs"], start - timedelta(days=1), days=16, every=timedelta(hours=12))
    readers = {}
    for zone in ZONES:
        reader = person(
            zone.split("/")[1].lower(), zone=zone, hour=9, weekday=2, digest_frequency="weekly"
        )
        follow(reader, topic, frequency="weekly", since=start)
        readers[zone] = reader
    daily = person("daily", zone="Europe/Berlin", hour=9)
    follow(daily, topic, since=start)

    run(start, start + timedelta(days=15), step=timedelta(hours=1))

    for zone, reader in readers.items():
        # Wednesdays 14 and 21 January, at 09:00 local.
        assert local_sends(reader, zone) == [datetime(2026, 1, 14, 9), datetime(2026, 1, 21, 9)]
        assert len(smtp_sink.to(reader.email)) == 2
    assert len(local_sends(daily, "Europe/Berlin")) == 15
    weekly = Delivery.objects.filter(cadence="week", state=Delivery.State.SENT)
    assert {d.period_start for d in weekly} == {date(2026, 1, 12), date(2026, 1, 19)}


def test_the_local_hour_holds_across_the_spring_dst_change(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    # Europe: 29 March 2026, 02:00 CET → 03:00 CEST. America: 8 March 2026.
    start = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    feed(topic, src["cs"], start - timedelta(days=1), days=26, every=timedelta(hours=6))
    berlin = person("berlin", zone="Europe/Berlin", hour=7)
    la_seven = person("la7", zone="America/Los_Angeles", hour=7)
    # 02:00 does not exist in Los Angeles on 8 March: that day it comes at 03:00.
    la_two = person("la2", zone="America/Los_Angeles", hour=2)
    for reader in (berlin, la_seven, la_two):
        follow(reader, topic, since=datetime(2026, 3, 7, 0, tzinfo=UTC))

    run(datetime(2026, 3, 7, 0, tzinfo=UTC), datetime(2026, 3, 9, 23, 45, tzinfo=UTC))
    run(datetime(2026, 3, 28, 0, tzinfo=UTC), datetime(2026, 3, 30, 23, 45, tzinfo=UTC))

    assert local_sends(la_seven, "America/Los_Angeles")[:3] == [
        datetime(2026, 3, d, 7) for d in (7, 8, 9)
    ]
    assert local_sends(la_two, "America/Los_Angeles")[:3] == [
        datetime(2026, 3, 7, 2), datetime(2026, 3, 8, 3), datetime(2026, 3, 9, 2)
    ]  # fmt: skip
    sends = local_sends(berlin, "Europe/Berlin")
    assert sends[-3:] == [datetime(2026, 3, d, 7) for d in (28, 29, 30)]
    # Same wall-clock hour, one hour earlier in UTC after the change.
    utc = [
        d.sent_at.astimezone(UTC).hour
        for d in Delivery.objects.filter(user=berlin).order_by("sent_at")
        if d.sent_at
    ]
    assert utc[-3:] == [6, 5, 5]


def test_an_hour_the_autumn_change_repeats_delivers_once(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    # Los Angeles, 1 November 2026: 01:00–02:00 PDT, then 01:00–02:00 PST again.
    start = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    feed(topic, src["cs"], start - timedelta(days=1), days=5, every=timedelta(hours=6))
    reader = person("la1", zone="America/Los_Angeles", hour=1)
    follow(reader, topic, since=start)

    run(start, datetime(2026, 11, 2, 12, 0, tzinfo=UTC))

    assert local_sends(reader, "America/Los_Angeles") == [
        datetime(2026, 10, 31, 1), datetime(2026, 11, 1, 1), datetime(2026, 11, 2, 1)
    ]  # fmt: skip
    # The first 01:00 (PDT, 08:00 UTC), not the repeated one an hour later.
    sent = Delivery.objects.get(user=reader, period_start=date(2026, 11, 1)).sent_at
    assert sent == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert len(smtp_sink.to(reader.email)) == 3


def test_a_new_subscriber_gets_the_first_briefing_at_the_next_delivery_hour(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    feed(topic, src["cs"], start - timedelta(days=1), days=3, every=timedelta(hours=3))
    reader = person("late", zone="UTC", hour=7)
    follow(reader, topic, since=start)  # 10:00: today's 07:00 has passed

    run(start, datetime(2026, 1, 13, 12, 0, tzinfo=UTC))

    assert local_sends(reader, "UTC") == [datetime(2026, 1, 13, 7)]


def test_nobody_gets_mail_for_a_period_without_matches_or_with_emails_off(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    reader = person("reader", hour=7)
    off = person("off", hour=7)
    master_off = person("master-off", hour=7, digest_frequency="off")
    follow(reader, topic, since=start)
    follow(off, topic, frequency="off", since=start)
    follow(master_off, topic, since=start)

    run(start, datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    assert smtp_sink.messages == []
    skipped = Delivery.objects.get(user=reader)
    assert (skipped.state, skipped.message_id) == (Delivery.State.SKIPPED, "")
    assert Briefing.objects.get(radar=topic).status == Briefing.Status.EMPTY

    matched(topic, [paper(src["cs"], "Finally, a paper")], at=datetime(2026, 1, 12, 9, tzinfo=UTC))
    run(datetime(2026, 1, 12, 8, 15, tzinfo=UTC), datetime(2026, 1, 13, 8, 0, tzinfo=UTC))

    assert [m["To"] for m in smtp_sink.messages] == [reader.email]
    assert not Delivery.objects.filter(user__in=[off, master_off]).exists()


def test_a_reader_wanting_both_languages_gets_one_email_with_both_briefings(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    matched(topic, [paper(src["cs"], "A paper")], at=start)
    reader = person("both", hour=7, card_language="both")
    follow(reader, topic, since=start - timedelta(days=1))

    run(datetime(2026, 1, 12, 7, 0, tzinfo=UTC), datetime(2026, 1, 12, 8, 0, tzinfo=UTC))

    [delivery] = Delivery.objects.filter(user=reader)
    briefings = Briefing.objects.filter(pk__in=delivery.briefing_ids)
    assert sorted(b.language for b in briefings) == ["en", "zh"]
    assert len(smtp_sink.messages) == 1


def test_a_reader_of_three_radars_due_at_once_gets_one_email_a_day(
    mail: Settings, smtp_sink: Sink, src: dict[str, Source], topic: Radar
) -> None:
    start = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    reader = person("three", zone="Asia/Shanghai", hour=7)
    radars = [topic] + [Radar.objects.create(owner=reader, name=f"Own {n}") for n in range(2)]
    for n, radar in enumerate(radars):
        feed(radar, src["cs"], start - timedelta(days=1), days=3, every=timedelta(hours=4 + n))
        follow(reader, radar, since=start)

    run(start, start + timedelta(days=2) - QUARTER)

    # 07:00 in Shanghai on 12 (23:00 UTC on the 11th, before the run), 13 and 14 January.
    assert local_sends(reader, "Asia/Shanghai") == [
        datetime(2026, 1, 13, 7), datetime(2026, 1, 14, 7)
    ]  # fmt: skip
    assert len(smtp_sink.to(reader.email)) == 2
    for message in smtp_sink.to(reader.email):
        text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        assert all(f"==== {r.name} ====" in text for r in radars)
    # One shared briefing per radar and day, whatever the number of readers.
    assert Briefing.objects.filter(language="en").count() == 3 * 2
