"""The archive keeps what was mailed: a reader's past email reads the same after one of its
radars is renamed or deleted (section title, "your radar", papers and their numbers), without
links to the deleted radar's briefing page, which is gone for everyone; other users still
see nothing of it; a deleted radar's briefing is never mailed again; emails sent before this
was recorded get their radars from the migration."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings

from digests.delivery import dispatch_due
from digests.models import Briefing, Delivery
from feeds.models import Source
from radar.models import Radar
from radar.services import radar_delete, radar_update
from testkit.smtp_sink import Sink
from tests.factories import UserFactory, follow, matched, paper, person, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
ON_THE_SITE = "“Long documents” on the site →"


def dispatch(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        dispatch_due(now=now)


def archived(client: Client, delivery: Delivery) -> str:
    """The email's content on its archive page."""
    response = client.get(f"/briefings/emails/{delivery.pk}/")
    assert response.status_code == 200
    found = re.search(
        r'<article class="brief-email"[^>]*>(.*)</article>', response.content.decode(), re.S
    )
    assert found is not None
    return found.group(1)


@pytest.fixture
def reader(src: dict[str, Source]) -> User:
    """A reader owning "Long documents" and following another curator's "Black holes"."""
    user = person("archivist", hour=7)
    own = Radar.objects.create(owner=user, name="Long documents")
    topic = Radar.objects.create(owner=person("curator"), name="Black holes", public=True)
    at = MORNING - timedelta(hours=9)
    matched(own, [paper(src["cs"], "Sparse attention"), paper(src["med"], "Clinical notes")], at=at)
    matched(topic, [paper(src["bio"], "Accretion of gas clouds")], at=at)
    follow(user, own)
    follow(user, topic)
    return user


@pytest.fixture
def sent(no_llm: Settings, mail: Settings, reader: User) -> Delivery:
    dispatch(MORNING)
    return Delivery.objects.get(user=reader, state=Delivery.State.SENT)


def own_radar(reader: User) -> Radar:
    return Radar.objects.get(owner=reader)


def test_the_email_records_the_radars_it_showed_when_it_is_sent(
    sent: Delivery, reader: User
) -> None:
    own, topic = own_radar(reader), Radar.objects.get(name="Black holes")
    recorded = {entry["name"]: entry for entry in sent.radars}
    assert recorded["Long documents"] == {
        "id": own.pk, "name": "Long documents", "public": False, "owned": True,
        "briefings": list(Briefing.objects.filter(radar=own).values_list("id", flat=True)),
    }  # fmt: skip
    assert recorded["Black holes"]["owned"] is False and recorded["Black holes"]["public"]
    assert recorded["Black holes"]["id"] == topic.pk
    assert Briefing.objects.get(radar=own).radar_name == "Long documents"


def test_an_archived_email_reads_the_same_after_its_radar_is_renamed(
    sent: Delivery, reader: User, smtp_sink: Sink
) -> None:
    client = signed_in(reader)
    before = archived(client, sent)

    radar_update(own_radar(reader), fields={"name": "Efficient transformers"})

    after = archived(client, sent)
    assert after == before
    assert ">Long documents</h2>" in after and "Efficient transformers" not in after
    listing = client.get("/briefings/emails/").content.decode()
    assert "Long documents" in listing and "Efficient transformers" not in listing
    # The email as mailed named it so too.
    [message] = smtp_sink.messages
    html = str(message.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]
    assert ">Long documents</h2>" in html


def test_an_archived_email_reads_the_same_after_its_radar_is_deleted_without_its_links(
    sent: Delivery, reader: User
) -> None:
    client = signed_in(reader)
    before = archived(client, sent)
    briefing = Briefing.objects.get(radar=own_radar(reader))

    radar_delete(own_radar(reader))

    briefing.refresh_from_db()
    assert briefing.radar_id is None and briefing.radar_name == "Long documents"
    after = archived(client, sent)
    # The same sections, "your radar", papers and numbers; only the way to the deleted
    # radar's briefing page is gone (the page is gone with the radar).
    assert text_of(after) == text_of(before.replace(ON_THE_SITE, ""))
    assert ON_THE_SITE in before and f"/briefings/{briefing.pk}/" in before
    assert f"/briefings/{briefing.pk}/" not in after
    for part in (">Long documents</h2>", "your radar", "Sparse attention", "Clinical notes",
                 ">Black holes</h2>", "a topic you follow", "Accretion of gas clouds"):  # fmt: skip
        assert part in after
    assert client.get(f"/briefings/{briefing.pk}/").status_code == 404
    listing = client.get("/briefings/emails/").content.decode()
    assert "Black holes, Long documents" in listing


def test_other_users_still_cannot_see_the_email_nor_the_deleted_radars_briefing(
    sent: Delivery, reader: User, client: Client
) -> None:
    briefing = Briefing.objects.get(radar=own_radar(reader))
    radar_delete(own_radar(reader))
    other = signed_in(UserFactory.create(name="stranger"))

    for path in (f"/briefings/emails/{sent.pk}/", f"/briefings/{briefing.pk}/"):
        response = other.get(path)
        assert response.status_code == 404
        assert "Sparse attention" not in response.content.decode()
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    for path in ("/briefings/emails/", "/briefings/"):
        assert "Long documents" not in other.get(path).content.decode()


def test_staff_see_a_deleted_radars_failed_briefing_by_its_name(
    no_llm: Settings, reader: User
) -> None:
    own = own_radar(reader)
    Briefing.objects.create(
        radar=own, radar_name=own.name, cadence="day", period_start=MORNING.date(),
        language="en", window_start=MORNING - timedelta(days=1), window_end=MORNING,
        status=Briefing.Status.FAILED, last_error="bad_output: no themes",
    )  # fmt: skip
    radar_delete(own)
    staff = signed_in(UserFactory.create(name="operator", is_staff=True, is_superuser=True))

    page = text_of(staff.get("/ops/deliveries/").content.decode())
    listing = text_of(staff.get("/admin/digests/briefing/").content.decode())

    assert "Long documents (deleted)" in page and "bad_output: no themes" in page
    assert "Long documents (deleted)" in listing


def test_a_both_readers_archived_email_keeps_both_languages_of_a_deleted_radar_in_one_section(
    no_llm: Settings, mail: Settings, src: dict[str, Source]
) -> None:
    reader = person("bilingual", hour=7, card_language="both")
    own = Radar.objects.create(owner=reader, name="Long documents")
    matched(own, [paper(src["cs"], "Sparse attention")], at=MORNING - timedelta(hours=9))
    follow(reader, own)
    dispatch(MORNING)
    delivery = Delivery.objects.get(user=reader, state=Delivery.State.SENT)
    assert len(delivery.briefing_ids) == 2
    client = signed_in(reader)
    before = archived(client, delivery)

    radar_delete(own)

    after = archived(client, delivery)
    assert after.count(">Long documents</h2>") == 1
    assert text_of(after) == text_of(before.replace(ON_THE_SITE, ""))


def test_a_deleted_radars_briefing_is_not_mailed_again_in_later_periods(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, sent: Delivery, reader: User,
    src: dict[str, Source],
) -> None:  # fmt: skip
    gone = Briefing.objects.get(radar=own_radar(reader))
    radar_delete(own_radar(reader))
    topic = Radar.objects.get(name="Black holes")
    matched(topic, [paper(src["cs"], "Jets from a young pulsar")], at=MORNING + timedelta(hours=9))

    dispatch(MORNING + timedelta(days=1))

    later = Delivery.objects.get(user=reader, period_start=MORNING.date() + timedelta(days=1))
    assert later.state == Delivery.State.SENT and gone.pk not in later.briefing_ids
    assert [entry["name"] for entry in later.radars] == ["Black holes"]
    assert not Briefing.objects.filter(radar=None).exclude(pk=gone.pk).exists()
    first, second = smtp_sink.messages
    text = str(second.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "Jets from a young pulsar" in text
    assert "Long documents" not in text and "Sparse attention" not in text


def test_an_email_still_waiting_to_be_sent_leaves_out_a_radar_deleted_meanwhile(
    no_llm: Settings, mail: Settings, smtp_sink: Sink, reader: User
) -> None:
    smtp_sink.stop()
    dispatch(MORNING)
    waiting = Delivery.objects.get(user=reader)
    assert waiting.state == Delivery.State.PENDING and len(waiting.briefing_ids) == 2
    gone = Briefing.objects.get(radar=own_radar(reader))

    radar_delete(own_radar(reader))
    smtp_sink.start()
    dispatch(MORNING + timedelta(minutes=15))

    waiting.refresh_from_db()
    assert waiting.state == Delivery.State.SENT and gone.pk not in waiting.briefing_ids
    [message] = smtp_sink.messages
    text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "==== Black holes ====" in text and "Long documents" not in text
    page = archived(signed_in(reader), waiting)
    assert "Black holes" in page and "Long documents" not in page


def test_the_migration_gives_emails_sent_before_it_the_radars_a_send_records(
    sent: Delivery,
) -> None:
    migration = importlib.import_module("digests.migrations.0007_archive_as_mailed")
    recorded = sent.radars
    Delivery.objects.filter(pk=sent.pk).update(radars=[])
    Briefing.objects.update(radar_name="")

    with connection.cursor() as cursor:
        cursor.execute(migration.BRIEFING_NAMES)
        cursor.execute(migration.DELIVERY_RADARS)

    sent.refresh_from_db()

    def by_name(entries: list[dict]) -> dict[str, dict]:
        return {e["name"]: {**e, "briefings": sorted(e["briefings"])} for e in entries}

    assert by_name(sent.radars) == by_name(recorded)
    names = set(Briefing.objects.values_list("radar_name", flat=True))
    assert names == {"Long documents", "Black holes"}
