"""The briefing email's language: a reader who chose "both" gets a subject naming the top theme
in their interface language; a reader without a summary language of their own gets their
interface language, never both side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django.fixtures import Settings

from accounts.models import Profile
from digests.delivery import dispatch_due
from digests.models import Briefing, Delivery
from feeds.models import Source
from radar.models import Radar
from testkit.briefing_llm import EN, ZH
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import Sink
from tests.factories import UserFactory, follow, matched, paper, person

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def radar(src: dict[str, Source]) -> Radar:
    radar = Radar.objects.create(owner=person("owner"), name="Long documents", public=True)
    made = [
        paper(src["cs"], "Sparse attention for long documents"),
        paper(src["bio"], "Long-range attention over genome sequences"),
    ]
    matched(radar, made, at=MORNING - timedelta(hours=10))
    return radar


def dispatch() -> None:
    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)


@pytest.mark.parametrize(("interface", "theme", "other"), [("en", EN, ZH), ("zh-hans", ZH, EN)])
def test_a_both_readers_subject_names_the_top_theme_in_their_interface_language(
    briefing_llm: FakeLLM, mail: Settings, smtp_sink: Sink, radar: Radar,
    interface: str, theme: dict[str, str], other: dict[str, str],
) -> None:  # fmt: skip
    follow(person("both", hour=7, language=interface, card_language="both"), radar)

    dispatch()

    [message] = smtp_sink.messages
    subject = str(message["Subject"])
    assert f" · {theme['title']}" in subject, subject
    assert other["title"] not in subject


def test_a_reader_without_a_summary_language_gets_their_interface_language_only(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, radar: Radar
) -> None:
    chinese = person("li", hour=7, language="zh-hans")
    Profile.objects.filter(user=chinese).update(card_language="")
    no_profile = UserFactory.create(name="new")
    for user in (chinese, no_profile):
        follow(user, radar)

    dispatch()

    assert len(smtp_sink.messages) == 2
    languages = dict(Delivery.objects.values_list("user_id", "language"))
    assert languages == {chinese.pk: "zh", no_profile.pk: "en"}
    made = Briefing.objects.filter(radar=radar).values_list("language", flat=True)
    assert sorted(made) == ["en", "zh"]
    by_address = {m["To"]: str(m["Subject"]) for m in smtp_sink.messages}
    assert by_address[chinese.email].startswith("每日简报")
    assert by_address[no_profile.email].startswith("Daily briefing")
