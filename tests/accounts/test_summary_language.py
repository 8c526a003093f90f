"""The summary language (cards and the briefing email) of a new account follows the language
it signed up in: Chinese for Chinese, English otherwise; "both" is only ever chosen. Existing
profiles keep theirs. The settings page says the choice also sets the briefing email's
language, in both interface languages."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client

from accounts.models import Profile
from accounts.services import profile_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _sign_up_and_confirm(client: Client, email: str) -> User:
    client.post("/accounts/signup/", {"email": email, "password1": PASSWORD,
                                      "password2": PASSWORD})  # fmt: skip
    [message] = mail.outbox
    link = re.search(r"https?://[^/\s]+(/[^\s]+)", str(message.body))
    assert link, message.body
    assert client.post(link.group(1)).status_code == 302  # confirmed and signed in
    client.get("/settings/")  # the first page signed in makes the profile
    return User.objects.get(email=email)


def test_signing_up_in_chinese_gets_chinese_summaries_and_email(client: Client) -> None:
    client.post("/language/", {"language": "zh-hans"})

    user = _sign_up_and_confirm(client, "li@example.org")

    profile = Profile.objects.get(user=user)
    assert (profile.language, profile.card_language) == ("zh-hans", "zh")


def test_signing_up_in_english_gets_english_summaries_and_email(client: Client) -> None:
    user = _sign_up_and_confirm(client, "ann@example.org")

    profile = Profile.objects.get(user=user)
    assert (profile.language, profile.card_language) == ("en", "en")


@pytest.mark.parametrize(("language", "summary"), [("zh-hans", "zh"), ("en", "en"), (None, "en")])
def test_a_new_profile_takes_the_summary_language_of_its_interface(
    language: str | None, summary: str
) -> None:
    assert profile_for(UserFactory.create(), language=language).card_language == summary


def test_an_existing_profile_keeps_both_and_the_migration_rewrites_no_row() -> None:
    user = UserFactory.create()
    Profile.objects.create(user=user, card_language="both")

    assert profile_for(user, language="zh-hans").card_language == "both"
    sql = StringIO()
    call_command("sqlmigrate", "accounts", "0005", stdout=sql)
    assert "UPDATE" not in sql.getvalue().upper()
    assert "(no-op)" in sql.getvalue()


def test_the_settings_page_says_the_choice_sets_the_briefing_language_too(
    client: Client, alice: User
) -> None:
    client.force_login(alice)

    english = client.get("/settings/").content.decode()
    profile = Profile.objects.get(user=alice)
    profile.language = "zh-hans"
    profile.save()
    chinese = client.get("/settings/").content.decode()

    assert "Summary and briefing language" in english
    assert "of your briefing email" in english
    assert "摘要与简报语言" in chinese and "简报邮件所用的语言" in chinese
    assert "Summary and briefing language" not in chinese
