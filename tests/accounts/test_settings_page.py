"""/settings/: the requester's own preferences, and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Profile
from accounts.services import profile_for

pytestmark = pytest.mark.django_db

VALID = {
    "language": "en",
    "timezone": "Asia/Shanghai",
    "card_language": "zh",
    "digest_frequency": "weekly",
    "delivery_hour": "8",
    "delivery_weekday": "4",
}


def _post(client: Client, **changes: Any) -> Any:
    return client.post("/settings/", {**VALID, **changes})


def test_a_visitor_is_sent_to_log_in(client: Client) -> None:
    response = client.get("/settings/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/"


def test_a_visitor_cannot_post_settings(client: Client, alice: User) -> None:
    response = _post(client)

    assert response.status_code == 302
    assert Profile.objects.count() == 0


def test_the_owner_sees_their_preferences_and_links(client: Client, alice: User) -> None:
    profile = profile_for(alice)
    profile.timezone = "Europe/Berlin"
    profile.save()
    client.force_login(alice)

    page = client.get("/settings/").content.decode()

    assert alice.email in page
    assert '<option value="Europe/Berlin" selected>' in page
    assert '<option value="Asia/Shanghai">' in page
    assert 'href="/accounts/email/"' in page
    assert 'href="/accounts/password/change/"' in page
    assert 'href="/settings/api/"' in page


@time_machine.travel(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False)
def test_it_shows_the_time_now_in_the_chosen_zone(client: Client, alice: User) -> None:
    profile = profile_for(alice)
    profile.timezone = "Asia/Shanghai"
    profile.save()
    client.force_login(alice)

    page = client.get("/settings/").content.decode()

    assert "It is now 07:30 on March 3, 2026 in Asia/Shanghai." in page


def test_the_owner_saves_every_preference(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = _post(client)

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    profile = Profile.objects.get(user=alice)
    assert (
        profile.language,
        profile.timezone,
        profile.card_language,
        profile.digest_frequency,
        profile.delivery_hour,
        profile.delivery_weekday,
    ) == ("en", "Asia/Shanghai", "zh", "weekly", 8, 4)
    assert "Your settings were saved." in client.get("/settings/").content.decode()


@pytest.mark.parametrize(
    "field,value",
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("delivery_hour", "24"),
        ("delivery_hour", "-1"),
        ("card_language", "fr"),
        ("digest_frequency", "hourly"),
        ("delivery_weekday", "7"),
        ("language", "de"),
    ],
)
def test_it_refuses_bad_values(client: Client, alice: User, field: str, value: str) -> None:
    client.force_login(alice)

    response = _post(client, **{field: value})

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    profile = Profile.objects.get(user=alice)
    assert (profile.timezone, profile.delivery_hour, profile.language) == ("UTC", 7, "en")


def test_a_refused_form_does_not_switch_the_language(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = _post(client, language="zh-hans", timezone="Nowhere/At_All")

    assert Profile.objects.get(user=alice).language == "en"
    assert '<html lang="en">' in response.content.decode()
    assert response.cookies.get("lang") is None or response.cookies["lang"].value == "en"


def test_changing_the_language_switches_the_interface(client: Client, alice: User) -> None:
    client.force_login(alice)

    response = _post(client, language="zh-hans")
    page = client.get("/settings/").content.decode()

    assert Profile.objects.get(user=alice).language == "zh-hans"
    assert response.cookies["lang"].value == "zh-hans"
    assert '<html lang="zh-Hans">' in page


def test_settings_only_ever_change_the_requesters_profile(
    client: Client, alice: User, bob: User
) -> None:
    bob_profile = profile_for(bob)
    client.force_login(alice)

    # Smuggled ids are ignored: the form has no user field and the view takes no id.
    _post(client, user=str(bob.pk), id=str(bob_profile.pk), timezone="America/Lima")

    bob_profile.refresh_from_db()
    assert bob_profile.timezone == "UTC"
    assert Profile.objects.get(user=alice).timezone == "America/Lima"


def test_another_user_sees_only_their_own_settings(client: Client, alice: User, bob: User) -> None:
    alice_profile = profile_for(alice)
    alice_profile.timezone = "Pacific/Auckland"
    alice_profile.save()
    client.force_login(bob)

    page = client.get("/settings/").content.decode()

    assert bob.email in page
    assert alice.email not in page
    assert '<option value="Pacific/Auckland" selected>' not in page
    assert '<option value="UTC" selected>' in page


def test_the_settings_page_uses_a_fixed_number_of_queries(
    client: Client, alice: User, django_assert_num_queries: Any
) -> None:
    client.force_login(alice)
    client.get("/settings/")

    # session, user, profile, whether mail to the address was stopped (bounce or complaint)
    with django_assert_num_queries(4):
        client.get("/settings/")


def test_the_briefing_settings_apply_to_every_followed_radar(
    client: Client, alice: User, bob: User
) -> None:
    from radar.models import Radar, Subscription

    mine = Radar.objects.create(owner=alice, name="mine", include="x")
    topic = Radar.objects.create(owner=bob, name="topic", include="y", public=True)
    Subscription.objects.create(user=alice, radar=mine, frequency="daily", language="both")
    # Unsubscribed earlier with the one-click link in an email.
    Subscription.objects.create(user=alice, radar=topic, frequency="off", language="both")
    Subscription.objects.create(user=bob, radar=topic, frequency="daily", language="en")
    client.force_login(alice)

    _post(client, digest_frequency="weekly", card_language="zh")

    assert set(Subscription.objects.filter(user=alice).values_list("frequency", "language")) == {
        ("weekly", "zh")
    }
    assert Subscription.objects.get(user=bob).frequency == "daily"  # nobody else's


def test_the_summary_language_says_when_chinese_summaries_need_a_language_model(
    client: Client, alice: User, settings: Any
) -> None:
    client.force_login(alice)
    settings.LLM_BASE_URL, settings.LLM_API_KEY = "", ""
    assert "This site has no language model set up yet" in client.get("/settings/").content.decode()
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    assert "This site has no language model set up yet" not in (
        client.get("/settings/").content.decode()
    )
