"""Briefing pages: the archive per user and per radar, a briefing with its themes, links
between fields and its papers as cards; each for the owner, a subscriber, another user (404,
nothing shown) and a visitor (sent to log in). "Send me a test briefing now" in settings, the
staff view of deliveries, the admin's "send again", `manage.py briefings`, and the selectors
and export the JSON API reads."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import Settings

from academichub.celery import app as celery_app
from accounts.models import Profile
from digests.briefings import briefing_ensure
from digests.delivery import briefing_test_send
from digests.display import briefing_export, briefing_summary
from digests.models import Briefing, Delivery
from digests.selectors import briefing_for_user, briefings_for_user
from feeds.models import Paper, Source
from radar.models import Radar
from testkit.briefing_llm import briefing_requests
from testkit.fake_llm import FakeLLM
from testkit.smtp_sink import Sink
from tests.factories import UserFactory, follow, matched, paper, person, signed_in

MAIL_QUEUE = "llm"  # briefing_test_send builds briefings: academichub.celery.TASK_ROUTES

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
DAY = date(2026, 1, 12)


@pytest.fixture
def radar(alice: User) -> Radar:
    radar = Radar.objects.create(owner=alice, name="Alice's long documents")
    follow(alice, radar)
    return radar


@pytest.fixture
def papers(src: dict[str, Source], radar: Radar) -> list[Paper]:
    made = [
        paper(src["cs"], "Sparse attention for long documents"),
        paper(src["bio"], "Long-range attention over genome sequences"),
        paper(src["med"], "Summarising clinical notes with sparse transformers"),
    ]
    matched(radar, made, at=NOW - timedelta(hours=10))
    return made


def build(radar: Radar, language: str = "en", day: date = DAY, now: datetime = NOW) -> Briefing:
    with time_machine.travel(now, tick=False):
        briefing = briefing_ensure(
            radar_id=radar.pk, cadence="day", period_start=day, language=language, now=now
        )
    briefing.refresh_from_db()
    return briefing


@pytest.fixture
def briefing(briefing_llm: FakeLLM, radar: Radar, papers: list[Paper]) -> Briefing:
    return build(radar)


# --- The briefing page -----------------------------------------------------------------------


def test_the_owner_reads_the_briefing_with_its_themes_links_and_papers_as_cards(
    alice: User, briefing: Briefing, papers: list[Paper]
) -> None:
    response = signed_in(alice).get(f"/briefings/{briefing.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "<h1>Sparse attention methods cut the memory of long-document models this week.</h1>"
        in page
    )
    assert "Sparse attention for long inputs 1" in page  # a theme
    assert "Across fields" in page and "Computer Science ↔ Biology" in page
    assert "Read first" in page
    assert "Written by a language model (fake-model)" in page
    for item in papers:
        assert f'id="paper-{item.pk}"' in page  # the paper's card
        assert f'href="#paper-{item.pk}"' in page  # cited from the text
        assert f'href="/papers/{item.key}/"' in page


@pytest.mark.parametrize(
    ("language", "fields"),
    [
        ("en", ["Computer Science · 2", "Physics · 1"]),
        ("zh-hans", ["计算机科学 · 2", "物理学 · 1"]),
    ],
)
def test_the_fields_of_arxiv_papers_from_a_feed_of_every_archive_are_their_own(
    alice: User, briefing_llm: FakeLLM, radar: Radar, language: str, fields: list[str]
) -> None:
    # The bundled sample feed holds every archive; its source is of no one discipline.
    every = Source.objects.create(
        slug="sample-arxiv", kind=Source.Kind.ARXIV_RSS, label="arXiv",
        discipline="Multidisciplinary",
    )  # fmt: skip
    made = [
        paper(every, "Sparse attention for long documents"),
        paper(every, "Sparse attention for code", primary_category="cs.SE"),
        paper(every, "Sparse attention in quantum circuits", primary_category="quant-ph"),
    ]
    matched(radar, made, at=NOW - timedelta(hours=10))
    Profile.objects.update_or_create(user=alice, defaults={"language": language})
    briefing = build(radar)

    page = signed_in(alice).get(f"/briefings/{briefing.pk}/").content.decode()

    listed = page[page.index('<ul class="brief-fields">') :]
    listed = listed[: listed.index("</ul>")]
    assert [item.split(">")[-1] for item in listed.split("</li>")[:-1]] == fields
    assert "Multidisciplinary" not in listed and "多学科" not in listed


def test_a_subscriber_of_a_public_topic_reads_its_briefing(
    bob: User, radar: Radar, briefing: Briefing
) -> None:
    radar.public = True
    radar.save()
    follow(bob, radar)

    assert signed_in(bob).get(f"/briefings/{briefing.pk}/").status_code == 200


def test_another_user_gets_404_and_sees_nothing(
    bob: User, radar: Radar, briefing: Briefing
) -> None:
    client = signed_in(bob)

    for path in (f"/briefings/{briefing.pk}/", f"/briefings/radar/{radar.pk}/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Sparse attention methods" not in response.content.decode()
    archive = client.get("/briefings/").content.decode()
    assert "Sparse attention methods" not in archive and radar.name not in archive


def test_a_visitor_is_sent_to_log_in(briefing: Briefing, client: Client) -> None:
    for path in (
        f"/briefings/{briefing.pk}/",
        "/briefings/",
        f"/briefings/radar/{briefing.radar_id}/",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_empty_and_pending_briefings_have_no_page(
    no_llm: Settings, alice: User, radar: Radar
) -> None:
    empty = build(radar)
    assert empty.status == Briefing.Status.EMPTY

    assert signed_in(alice).get(f"/briefings/{empty.pk}/").status_code == 404
    assert briefing_for_user(alice, empty.pk) is None


def test_a_failed_briefing_shows_the_papers_and_says_why_only_to_staff(
    briefing_llm: FakeLLM, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    from testkit.fake_llm import text_reply

    briefing_llm.script(text_reply("nonsense"), text_reply("nonsense"))
    failed = build(radar)
    assert failed.status == Briefing.Status.FAILED

    page = signed_in(alice).get(f"/briefings/{failed.pk}/").content.decode()
    assert "could not be used this time" in page
    assert "not JSON" not in page
    staff = UserFactory.create(name="staff", is_staff=True)
    follow(staff, radar)
    assert "not JSON" in signed_in(staff).get(f"/briefings/{failed.pk}/").content.decode()


# --- Archives --------------------------------------------------------------------------------


def test_the_archive_lists_the_users_briefings_newest_first_in_fixed_queries(
    no_llm: Settings, alice: User, src: dict[str, Source], radar: Radar
) -> None:
    other = Radar.objects.create(owner=alice, name="Genomes")
    follow(alice, other)
    for n in range(6):
        at = NOW + timedelta(days=n)
        matched(radar, [paper(src["cs"], f"Paper {n}")], at=at - timedelta(hours=1))
        matched(other, [paper(src["bio"], f"Genome {n}")], at=at - timedelta(hours=1))
        build(radar, day=DAY + timedelta(days=n), now=at)
        build(other, day=DAY + timedelta(days=n), now=at)
    client = signed_in(alice)
    client.get("/briefings/")  # the first request makes alice's profile

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/briefings/")

    assert response.status_code == 200
    page = response.content.decode()
    rows = Briefing.objects.filter(radar__owner=alice).order_by("-window_end", "-id")
    positions = [page.index(f'href="/briefings/{b.pk}/"') for b in rows]
    assert len(positions) == 12 and positions == sorted(positions)  # newest first
    assert page.count("without a language model") == 12
    # Session, user, profile, count, page: none per row.
    assert len(queries) <= 5, [q["sql"] for q in queries.captured_queries]

    one = client.get(f"/briefings/radar/{other.pk}/").content.decode()
    assert "Genomes" in one and "Alice&#x27;s long documents" not in one


def test_the_per_radar_archive_is_for_its_subscribers(
    no_llm: Settings, alice: User, bob: User, radar: Radar, papers: list[Paper]
) -> None:
    build(radar)
    radar.public = True
    radar.save()

    assert signed_in(bob).get(f"/briefings/radar/{radar.pk}/").status_code == 404
    follow(bob, radar)
    assert signed_in(bob).get(f"/briefings/radar/{radar.pk}/").status_code == 200


# --- Send me a test briefing now -------------------------------------------------------------


@pytest.fixture
def fresh(src: dict[str, Source], radar: Radar) -> None:
    """A match of the last day: a test briefing has something to be made from."""
    matched(radar, [paper(src["cs"], "Sparse attention")], at=timezone.now() - timedelta(hours=1))


def test_the_settings_button_queues_a_test_briefing_once_in_two_minutes(
    alice: User, radar: Radar, fresh: None, redis_client: redis.Redis
) -> None:
    client = signed_in(alice)
    response = client.post("/briefings/test/", follow=True)
    assert "A test briefing is on its way to" in response.content.decode()
    assert redis_client.llen(MAIL_QUEUE) == 1
    again = client.post("/briefings/test/", follow=True)
    assert "please wait" in again.content.decode()
    assert redis_client.llen(MAIL_QUEUE) == 1
    assert client.get("/briefings/test/").status_code == 405


@pytest.fixture
def broker_away() -> Iterator[Callable[[], None]]:
    """Tasks are sent to a Redis socket nobody listens on until the returned call brings
    the real broker back. Celery forgets its pools for the new URL (as a forked child does)
    but none is closed: kombu keeps one per URL, which the real broker's gets back."""
    before = celery_app.conf.broker_url
    nobody = Path(tempfile.mkdtemp()) / "redis.sock"

    def point_at(url: str) -> None:
        celery_app.conf["broker_url"] = url
        cast(Any, celery_app)._after_fork()  # the private pools have no stubs

    point_at(f"redis+socket://{nobody}")
    yield lambda: point_at(before)
    point_at(before)


def test_the_settings_button_with_the_broker_away_says_so_and_can_be_pressed_again(
    alice: User, radar: Radar, fresh: None, redis_client: redis.Redis,
    broker_away: Callable[[], None],
) -> None:  # fmt: skip
    client = signed_in(alice)
    response = client.post("/briefings/test/", follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "The test briefing could not be queued" in page
    assert "on its way" not in page

    broker_away()  # back
    response = client.post("/briefings/test/", follow=True)
    assert "A test briefing is on its way to" in response.content.decode()
    assert redis_client.llen(MAIL_QUEUE) == 1


def test_the_settings_page_has_the_button(alice: User) -> None:
    page = signed_in(alice).get("/settings/").content.decode()
    assert 'action="/briefings/test/"' in page


def test_a_test_briefing_is_mailed_marked_as_a_test_and_does_not_count_for_the_period(
    mail: Settings, smtp_sink: Sink, briefing_llm: FakeLLM, alice: User, radar: Radar,
    papers: list[Paper],
) -> None:  # fmt: skip
    Profile.objects.create(user=alice, card_language="en")
    with time_machine.travel(NOW, tick=False):
        assert briefing_test_send(alice, now=NOW) == "sent"

    [message] = smtp_sink.messages
    assert message["Subject"].startswith("[Test] Daily briefing")
    text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "A test briefing: made now from your radars' matches of the last day" in text
    delivery = Delivery.objects.get()
    assert delivery.is_test and delivery.state == "sent"
    with time_machine.travel(NOW, tick=False):
        assert briefing_test_send(alice, now=NOW) == "recent"
    # The real one still comes.
    from digests.delivery import dispatch_due

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        dispatch_due(now=NOW + timedelta(hours=1))
    assert len(smtp_sink.messages) == 2
    # The regular email reuses the briefing the test made: one LLM call in all.
    assert len(briefing_requests(briefing_llm)) == 1


def test_the_test_button_with_no_radar_says_so(bob: User) -> None:
    response = signed_in(bob).post("/briefings/test/", follow=True)
    assert "Follow a radar or a topic first" in response.content.decode()


# --- Staff -----------------------------------------------------------------------------------


def test_staff_see_recent_flagged_and_failed_deliveries(
    no_llm: Settings, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    briefing = build(radar)
    Delivery.objects.create(
        user=alice, cadence="day", period_start=DAY, briefing_ids=[briefing.pk],
        state="sending", flagged=True, message_id="<flagged@x>", last_error="lost after DATA",
    )  # fmt: skip
    staff = UserFactory.create(name="staff", is_staff=True)

    page = signed_in(staff).get("/ops/deliveries/").content.decode()
    assert "&lt;flagged@x&gt;" in page and "lost after DATA" in page
    assert signed_in(alice).get("/ops/deliveries/").status_code == 302


def test_the_admin_sends_a_flagged_delivery_again_with_its_message_id(
    no_llm: Settings, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    briefing = build(radar)
    row = Delivery.objects.create(
        user=alice, cadence="day", period_start=DAY, briefing_ids=[briefing.pk],
        state="sending", flagged=True, message_id="<same@x>",
    )  # fmt: skip
    admin = UserFactory.create(name="admin", is_staff=True, is_superuser=True)

    chosen = {"action": "send_again", "_selected_action": [row.pk]}
    client = signed_in(admin)
    # A flagged email may have arrived: staff are asked first, and nothing changes yet.
    asked = client.post("/admin/digests/delivery/", chosen, follow=True)
    assert "Sending again may deliver a second copy" in asked.content.decode()
    assert Delivery.objects.get(pk=row.pk).state == "sending"

    response = client.post("/admin/digests/delivery/", {**chosen, "confirm": "yes"}, follow=True)

    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.state, row.flagged, row.message_id) == ("pending", False, "<same@x>")


def test_the_admin_leaves_a_delivery_being_sent_right_now_alone(
    no_llm: Settings, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    briefing = build(radar)
    row = Delivery.objects.create(
        user=alice, cadence="day", period_start=DAY, briefing_ids=[briefing.pk],
        state="sending", flagged=False, message_id="<busy@x>",
    )  # fmt: skip
    admin = UserFactory.create(name="admin", is_staff=True, is_superuser=True)

    signed_in(admin).post(
        "/admin/digests/delivery/", {"action": "send_again", "_selected_action": [row.pk]}
    )

    row.refresh_from_db()
    assert row.state == "sending"  # resetting it would send the message a second time


# --- Command ---------------------------------------------------------------------------------


def test_the_command_builds_and_with_send_mails_each_subscriber_once_whatever_the_hour(
    mail: Settings, smtp_sink: Sink, no_llm: Settings, alice: User, bob: User, radar: Radar,
    papers: list[Paper],
) -> None:  # fmt: skip
    radar.public = True
    radar.save()
    follow(bob, radar)
    Profile.objects.create(user=bob, card_language="zh")
    follow(person("off"), radar, frequency="off")
    out = StringIO()
    at = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)  # before anyone's delivery hour

    with time_machine.travel(at, tick=False):
        call_command("briefings", "--radar", str(radar.pk), stdout=out)
    line = json.loads(out.getvalue())
    assert line["radar"] == radar.pk
    assert sorted(b["language"] for b in line["briefings"]) == ["en", "zh"]
    assert all(b["papers"] == 3 and b["period_start"] == "2026-01-12" for b in line["briefings"])
    assert smtp_sink.messages == []

    for _ in range(2):
        out = StringIO()
        with time_machine.travel(at, tick=False):
            call_command("briefings", "--radar", str(radar.pk), "--send", stdout=out)
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted([alice.email, bob.email])
    assert json.loads(out.getvalue())["deliveries"] == {}


def test_the_command_mails_one_reader_their_email_once_whatever_the_hour(
    mail: Settings, smtp_sink: Sink, no_llm: Settings, alice: User, bob: User, radar: Radar,
    papers: list[Paper],
) -> None:  # fmt: skip
    other = Radar.objects.create(owner=alice, name="Genomes")
    follow(alice, other)
    at = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)

    out = StringIO()
    with time_machine.travel(at, tick=False):
        call_command("briefings", "--user", alice.email, stdout=out)
    line = json.loads(out.getvalue())
    assert line["user"] == alice.email and "deliveries" not in line
    assert {b["radar"] for b in line["briefings"]} == {radar.pk, other.pk}
    assert smtp_sink.messages == []

    for _ in range(2):
        with time_machine.travel(at, tick=False):
            call_command("briefings", "--user", alice.email.upper(), "--send", stdout=StringIO())
    assert [m["To"] for m in smtp_sink.messages] == [alice.email]
    assert Delivery.objects.get().briefing_ids
    with pytest.raises(CommandError):
        call_command("briefings", "--user", "nobody@example.org")


# --- What the JSON API reads -----------------------------------------------------------------


def test_the_selectors_and_export_give_the_users_briefings_with_paper_keys(
    alice: User, bob: User, briefing: Briefing, papers: list[Paper]
) -> None:
    assert list(briefings_for_user(alice)) == [briefing]
    assert list(briefings_for_user(bob)) == []
    assert briefing_for_user(bob, briefing.pk) is None

    row = briefing_summary(briefing_for_user(alice, briefing.pk))  # type: ignore[arg-type]
    assert row["period"] == "day" and row["period_start"] == "2026-01-12"
    assert row["headline"].startswith("Sparse attention methods")
    data = briefing_export(briefing)
    keys = [p.key for p in papers]
    assert [p["key"] for p in data["papers"]] == keys
    assert {k for t in data["themes"] for k in t["papers"]} == set(keys)
    assert data["links"][0]["fields"] == ["Computer Science", "Biology"]
    assert [p["key"] for p in data["read_first"]] == keys[:2]
    json.dumps(data)  # plain JSON types only


def test_the_briefing_page_needs_as_many_queries_for_twelve_papers_as_for_three(
    no_llm: Settings, alice: User, src: dict[str, Source], radar: Radar, papers: list[Paper]
) -> None:
    small = build(radar)
    other = Radar.objects.create(owner=alice, name="Many")
    follow(alice, other)
    matched(
        other, [paper(src["bio"], f"Genome {n}") for n in range(12)], at=NOW - timedelta(hours=2)
    )
    large = build(other)
    client = signed_in(alice)
    client.get(f"/briefings/{small.pk}/")

    counts = []
    for briefing in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/briefings/{briefing.pk}/").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_sending_stops_when_the_tasks_time_is_spent_and_leaves_the_rest_pending(
    no_llm: Settings, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    import time

    from digests.delivery import deliveries_send

    briefing = build(radar)
    row = Delivery.objects.create(
        user=alice, cadence="day", period_start=DAY, briefing_ids=[briefing.pk],
        message_id="<late@x>",
    )  # fmt: skip
    # Building took the whole budget (e.g. a staged briefing with slow LLM calls).
    counts = deliveries_send([row.pk], started=time.monotonic() - 600, budget=540)

    assert counts["left"] == 1
    row.refresh_from_db()
    assert row.state == "pending"  # sent at the next dispatch, not cut off mid-conversation
