"""A new profile's time zone is the one the browser reported, else follows the sign-up
language; the settings page offers the
canonical zones (no `backward` aliases), the common ones first, and keeps a stored alias."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.forms import canonical_timezones
from accounts.models import Profile
from accounts.services import profile_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "zone"), [("zh-hans", "Asia/Shanghai"), ("en", "UTC")])
def test_a_new_profile_takes_the_zone_of_its_language(language: str, zone: str) -> None:
    user = UserFactory.create()

    assert profile_for(user, language=language).timezone == zone


def test_an_explicit_zone_or_an_existing_profile_is_kept() -> None:
    user, other = UserFactory.create(), UserFactory.create()

    assert profile_for(user, language="zh-hans", timezone="Europe/Berlin").timezone == (
        "Europe/Berlin"
    )
    profile = profile_for(other, language="en")
    profile.timezone = "America/Lima"
    profile.save()
    assert profile_for(other, language="zh-hans").timezone == "America/Lima"


def test_signing_up_in_chinese_gets_beijing_time(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})
    user = User.objects.create_user("li@example.org", "li@example.org", PASSWORD)
    client.force_login(user)

    client.get("/settings/")

    assert Profile.objects.get(user=user).timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("cookie", "zone"),
    [
        ("America/New_York", "America/New_York"),
        ("Asia/Calcutta", "Asia/Calcutta"),  # an alias the browser may report is a real zone
        ("Mars/Olympus_Mons", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("Europe/" + "x" * 80, "UTC"),
    ],
)
def test_a_new_account_takes_the_zone_its_browser_reported(
    client: Client, cookie: str, zone: str
) -> None:
    user = User.objects.create_user("ana@example.org", "ana@example.org", PASSWORD)
    client.cookies["tz"] = cookie
    client.force_login(user)

    client.get("/settings/")

    assert Profile.objects.get(user=user).timezone == zone


def test_the_browser_zone_beats_the_language_guess_but_not_a_stored_zone(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})
    client.cookies["tz"] = "Europe/Berlin"
    user = User.objects.create_user("li@example.org", "li@example.org", PASSWORD)
    client.force_login(user)

    client.get("/settings/")
    profile = Profile.objects.get(user=user)
    assert (profile.language, profile.timezone) == ("zh-hans", "Europe/Berlin")

    profile.timezone = "Asia/Tokyo"
    profile.save()
    client.cookies["tz"] = "America/Lima"
    client.get("/settings/")
    assert Profile.objects.get(user=user).timezone == "Asia/Tokyo"


def test_the_list_has_canonical_zones_only() -> None:
    names = canonical_timezones()

    assert {"UTC", "Asia/Shanghai", "Asia/Kolkata", "Europe/Oslo", "America/New_York"} <= set(names)
    assert not {"Asia/Chongqing", "Asia/Calcutta", "Asia/Harbin", "US/Eastern"} & set(names)
    assert len(names) < 450


def test_the_settings_page_offers_common_zones_first(client: Client, alice: User) -> None:
    client.force_login(alice)

    page = client.get("/settings/").content.decode()

    select = page[page.index('name="timezone"') :]
    select = select[: select.index("</select>")]
    assert select.index('value="Asia/Shanghai"') < select.index('value="Africa/Abidjan"')
    assert "China mainland (Beijing time) — Asia/Shanghai" in select
    assert 'value="Asia/Chongqing"' not in select


def test_the_common_zones_are_named_in_chinese(client: Client, alice: User) -> None:
    profile = profile_for(alice)
    profile.language = "zh-hans"
    profile.save()
    client.force_login(alice)

    page = client.get("/settings/").content.decode()

    assert '<optgroup label="常用时区">' in page
    assert "中国大陆（北京时间） — Asia/Shanghai" in page


def test_a_stored_alias_stays_valid(client: Client, alice: User) -> None:
    profile = profile_for(alice)
    profile.timezone = "Asia/Chongqing"
    profile.save()
    client.force_login(alice)

    page = client.get("/settings/").content.decode()
    assert '<option value="Asia/Chongqing" selected>' in page

    response = client.post(
        "/settings/",
        {
            "language": "en",
            "timezone": "Asia/Chongqing",
            "card_language": "zh",
            "digest_frequency": "daily",
            "delivery_hour": "9",
            "delivery_weekday": "0",
        },
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.timezone, profile.delivery_hour) == ("Asia/Chongqing", 9)
