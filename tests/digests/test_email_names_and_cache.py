"""What a reader sees of the email's names and dates, and that sharing the batch's renders
between readers changes nothing in what each one receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django.fixtures import Settings

from digests.delivery import _briefings_for, _keys, deliveries_create, dispatch_due
from digests.email import MailCache, briefing_message
from digests.models import Delivery
from digests.schedule import readers_due
from feeds.models import Source
from radar.models import Radar
from testkit.smtp_sink import Sink
from tests.factories import follow, matched, paper, person, signed_in

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


def test_a_chinese_reader_sees_a_starter_topic_by_its_chinese_name_and_the_day_unpadded(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, src: dict[str, Source]
) -> None:
    reader = person("zh", hour=7, language="zh-hans", card_language="zh")
    topic = Radar.objects.create(owner=person("curator"), name="Causal inference", public=True)
    matched(topic, [paper(src["cs"], "Instrumental variables at scale")], at=MORNING - timedelta(1))
    follow(reader, topic)

    with time_machine.travel(MORNING, tick=False):
        dispatch_due(now=MORNING)

    [message] = smtp_sink.messages
    text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    html = str(message.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]
    assert "1月12日" in message["Subject"] and "01月" not in message["Subject"]
    assert "1月12日" in html and "01月12日" not in html + text
    assert "==== 因果推断 ====" in text and "因果推断" in html
    assert "Causal inference" not in text + html
    client = signed_in(reader)
    client.cookies["lang"] = "zh-hans"
    archive = client.get("/briefings/emails/").content.decode()
    assert "因果推断" in archive and "Causal inference" not in archive
    page = client.get(f"/briefings/emails/{Delivery.objects.get().pk}/").content.decode()
    assert "因果推断" in page and "1月12日" in page


def test_readers_sharing_radars_get_the_same_email_from_a_shared_cache_as_alone(
    no_llm: Settings, src: dict[str, Source]
) -> None:
    first = person("first", hour=7, card_language="both", language="zh-hans")
    second = person("second", hour=7, card_language="both", language="zh-hans")
    radars = [
        Radar.objects.create(owner=person("owner"), name="Long documents", public=True),
        Radar.objects.create(owner=person("curator"), name="Causal inference", public=True),
    ]
    for n, radar in enumerate(radars):
        matched(
            radar, [paper(src["cs"], f"Sparse attention $O(n^{n + 2})$")], at=MORNING - timedelta(1)
        )
        follow(first, radar)
        follow(second, radar)
    with time_machine.travel(MORNING, tick=False):
        due = readers_due(now=MORNING)
        deliveries_create(due, _briefings_for(_keys(due), MORNING), now=MORNING)
    rows = list(Delivery.objects.select_related("user__profile").order_by("user_id"))
    assert len(rows) == 2

    def content(
        delivery: Delivery, cache: MailCache
    ) -> tuple[str, str, str, list[tuple[str, str]]]:
        message = briefing_message(delivery, cache)
        [(html, _)] = message.alternatives
        headers = sorted(message.extra_headers.items())
        return str(message.subject), str(message.body), str(html), headers

    with time_machine.travel(MORNING, tick=False):
        shared = MailCache()
        together = [content(d, shared) for d in rows]
        alone = [content(d, MailCache()) for d in rows]
    assert together == alone
    # Both readers' content came from one render, and each email is still their own.
    assert len(shared.rendered) == 1
    assert together[0][3] != together[1][3]
    assert "因果推断" in together[0][1] and "Long documents" in together[0][1]
