"""The admin lists saved papers and profiles for staff only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radar.models import SavedPaper
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/admin/radar/savedpaper/", "/admin/accounts/profile/"])
def test_staff_see_the_changelists(client: Client, alice: User, url: str) -> None:
    SavedPaper.objects.create(user=alice, paper=PaperFactory.create(title="Starred thing"))
    admin = User.objects.create_superuser("root", "root@example.org", "pw-long-enough-1")
    client.force_login(admin)

    response = client.get(url)

    assert response.status_code == 200
    if "savedpaper" in url:
        assert "Starred thing" in response.content.decode()


@pytest.mark.parametrize("url", ["/admin/radar/savedpaper/", "/admin/accounts/profile/"])
def test_users_who_are_not_staff_are_sent_to_the_admin_login(
    client: Client, alice: User, url: str
) -> None:
    client.force_login(alice)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
