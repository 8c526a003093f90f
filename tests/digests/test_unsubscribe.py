"""One-click unsubscribe (RFC 8058) from a received email: the POST needs no login, no cookie
and no CSRF token, answers 200 without a redirect and stops the reader's briefing email (one
email covers all their radars); a GET only shows a page with a button and per-radar choices,
which leave single radars out; a link from an email of the per-radar days stops that radar;
a bad or expired token changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Profile
from digests.delivery import dispatch_due
from digests.email import unsubscribe_token
from digests.models import Delivery
from feeds.models import Source
from radar.models import Radar, Subscription
from testkit.smtp_sink import SITE_URL, Sink, mail_through
from tests.factories import follow, matched, paper, person, sources

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


@pytest.fixture
def mail(settings: Settings, smtp_sink: Sink, no_llm: Settings) -> Settings:
    return mail_through(settings, smtp_sink)


@pytest.fixture
def radar() -> Radar:
    radar = Radar.objects.create(owner=person("owner"), name="Long documents", public=True)
    cs = sources()["cs"]
    matched(radar, [paper(cs, "Sparse attention")], at=MORNING - timedelta(hours=3))
    matched(radar, [paper(cs, "Denser attention")], at=MORNING + timedelta(hours=3))
    return radar


@pytest.fixture
def reader(radar: Radar) -> User:
    user = person("reader", hour=7)
    follow(user, radar)
    return user


def dispatch(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        dispatch_due(now=now)


def one_click_path(sink: Sink) -> str:
    """The path of the List-Unsubscribe URL in the last received email."""
    header = sink.messages[-1]["List-Unsubscribe"]
    url = header.strip().removeprefix("<").removesuffix(">")
    assert url.startswith(f"{SITE_URL}/")
    return urlsplit(url).path


def frequency(user: User, radar: Radar) -> str:
    return Subscription.objects.get(user=user, radar=radar).frequency


def email_on(user: User) -> bool:
    return not Profile.objects.filter(user=user, digest_frequency=Profile.Frequency.OFF).exists()


def mail_client() -> Client:
    """A mail provider's POST: no session, no cookies, CSRF checks on."""
    return Client(enforce_csrf_checks=True)


def test_a_one_click_post_from_the_email_unsubscribes_without_login_cookie_or_redirect(
    mail: Settings, smtp_sink: Sink, radar: Radar, reader: User
) -> None:
    dispatch(MORNING)
    path = one_click_path(smtp_sink)

    response = mail_client().post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "You will no longer receive the briefing email." in response.content.decode()
    assert not email_on(reader)
    assert frequency(reader, radar) == Subscription.Frequency.OFF
    # The next morning brings no email, though the radar has a new match.
    dispatch(MORNING + timedelta(days=1))
    assert len(smtp_sink.messages) == 1
    assert not Delivery.objects.filter(user=reader, period_start=MORNING.date() + timedelta(1))


def test_a_get_only_shows_a_confirmation_page_and_changes_nothing(
    mail: Settings, smtp_sink: Sink, radar: Radar, reader: User
) -> None:
    dispatch(MORNING)
    path = one_click_path(smtp_sink)

    response = mail_client().get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<form method="post" action="{path}">' in page
    assert "Stop the briefing email? It covers every radar you own" in page
    assert f'name="radar" value="{radar.pk}" checked' in page
    assert email_on(reader) and frequency(reader, radar) == Subscription.Frequency.DAILY
    # The page's button is the same one-click POST.
    assert mail_client().post(path).status_code == 200
    assert not email_on(reader)
    again = mail_client().post(path)
    assert again.status_code == 200 and not email_on(reader)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_changes_nothing(
    method: str, radar: Radar, reader: User, bob: User
) -> None:
    follow(bob, radar)
    token = unsubscribe_token(user_id=reader.pk)
    forged = token.replace(token.split(":")[0], unsubscribe_token(user_id=bob.pk).split(":")[0])

    for bad in (forged, token[:-2] + "xx", "not-a-token"):
        response = getattr(mail_client(), method)(f"/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert email_on(reader) and email_on(bob)
    assert frequency(reader, radar) == frequency(bob, radar) == Subscription.Frequency.DAILY


def test_a_token_over_400_days_old_changes_nothing(radar: Radar, reader: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        token = unsubscribe_token(user_id=reader.pk)
    with time_machine.travel(MORNING + timedelta(days=401), tick=False):
        response = mail_client().post(f"/unsubscribe/{token}/")
    assert response.status_code == 400
    assert email_on(reader)


def test_unsubscribing_between_the_row_and_the_send_sends_nothing(
    mail: Settings, smtp_sink: Sink, radar: Radar, reader: User
) -> None:
    smtp_sink.stop()  # the first attempt is deferred: the row waits, pending
    dispatch(MORNING)
    delivery = Delivery.objects.get(user=reader)
    assert delivery.state == Delivery.State.PENDING
    token = unsubscribe_token(user_id=reader.pk)
    assert mail_client().post(f"/unsubscribe/{token}/").status_code == 200
    smtp_sink.start()

    dispatch(MORNING + timedelta(hours=1))

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SKIPPED
    assert smtp_sink.messages == []


def test_the_page_leaves_single_radars_out_of_the_email_and_the_rest_still_comes(
    mail: Settings, smtp_sink: Sink, radar: Radar, reader: User
) -> None:
    other = Radar.objects.create(owner=reader, name="Genomes")
    follow(reader, other)
    bio = Source.objects.get(slug="biorxiv")
    matched(other, [paper(bio, "Genome paper")], at=MORNING - timedelta(hours=2))
    dispatch(MORNING)
    path = one_click_path(smtp_sink)

    response = mail_client().post(path, {"choice": "radars", "radar": [str(other.pk)]})

    assert response.status_code == 200 and "Location" not in response.headers
    assert "covers only the radars ticked below" in response.content.decode()
    assert email_on(reader)
    assert frequency(reader, radar) == Subscription.Frequency.OFF
    assert frequency(reader, other) == Subscription.Frequency.DAILY
    matched(other, [paper(bio, "Genome paper 2")], at=MORNING + timedelta(hours=4))
    dispatch(MORNING + timedelta(days=1))
    text = str(smtp_sink.messages[-1].get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert len(smtp_sink.messages) == 2
    assert "==== Genomes ====" in text and "Long documents" not in text


def test_a_link_from_an_email_of_one_radar_stops_only_that_radar(
    radar: Radar, reader: User
) -> None:
    other = Radar.objects.create(owner=reader, name="Genomes")
    follow(reader, other)
    # Emails sent before one email covered every radar named the radar in their link.
    token = unsubscribe_token(user_id=reader.pk, radar_id=radar.pk)

    page = mail_client().get(f"/unsubscribe/{token}/").content.decode()
    assert "Stop the briefing emails for “Long documents”?" in page
    assert mail_client().post(f"/unsubscribe/{token}/").status_code == 200

    assert frequency(reader, radar) == Subscription.Frequency.OFF
    assert frequency(reader, other) == Subscription.Frequency.DAILY and email_on(reader)


@pytest.mark.parametrize("was", [Profile.Frequency.DAILY, Profile.Frequency.WEEKLY])
def test_choosing_radars_after_stopping_all_keeps_the_unticked_ones_off_at_the_old_frequency(
    was: str, mail: Settings, smtp_sink: Sink, radar: Radar
) -> None:
    reader = person("reader", hour=7, weekday=0, digest_frequency=was)
    follow(reader, radar)
    other = Radar.objects.create(owner=reader, name="Genomes")
    follow(reader, other)
    bio = Source.objects.get(slug="biorxiv")
    matched(other, [paper(bio, "Genome paper")], at=MORNING - timedelta(hours=2))
    dispatch(MORNING)  # a Monday: the weekly reader's email comes too
    path = one_click_path(smtp_sink)
    assert mail_client().post(path).status_code == 200
    assert not email_on(reader)

    response = mail_client().post(path, {"choice": "radars", "radar": [str(other.pk)]})

    assert response.status_code == 200
    assert "covers only the radars ticked below" in response.content.decode()
    assert Profile.objects.get(user=reader).digest_frequency == was
    assert frequency(reader, radar) == Subscription.Frequency.OFF
    assert frequency(reader, other) == was
    assert f'name="radar" value="{radar.pk}">' in response.content.decode()
    assert f'name="radar" value="{other.pk}" checked' in response.content.decode()


def test_ticking_a_left_out_radar_again_turns_it_on_and_unticking_all_leaves_all_off(
    radar: Radar, reader: User
) -> None:
    other = Radar.objects.create(owner=reader, name="Genomes")
    follow(reader, other)
    path = f"/unsubscribe/{unsubscribe_token(user_id=reader.pk)}/"
    mail_client().post(path, {"choice": "radars", "radar": [str(other.pk)]})
    assert frequency(reader, radar) == Subscription.Frequency.OFF

    mail_client().post(path, {"choice": "radars", "radar": [str(radar.pk), str(other.pk)]})
    assert frequency(reader, radar) == frequency(reader, other) == Subscription.Frequency.DAILY

    mail_client().post(path, {"choice": "radars"})
    assert frequency(reader, radar) == frequency(reader, other) == Subscription.Frequency.OFF
    assert email_on(reader)
