"""Accounts in Chromium: sign-up confirmed through a real SMTP server, log in and out, language."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import redis
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from accounts.models import Profile
from testkit.smtp_sink import Sink
from tests.browser.conftest import OpenTab, Tab
from tests.factories import arxiv_paper

PASSWORD = "a long browser passphrase 31"
ZH_MO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
ZH_HERO = "探索全球前沿学术脉络"


def _forget_signup_limits() -> None:
    # Every browser sign-up comes from 127.0.0.1, and allauth counts them per IP in Redis,
    # which outlives the test database: drop just that counter, not other tests' keys
    # (flushing the database would reset the counters of test runs going on beside us).
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match="*allauth:rl:account:signup:*"):
        client.delete(key)


def test_a_visitor_signs_up_confirms_by_mail_and_logs_in_again(
    open_tab: OpenTab, smtp_inbox: Sink
) -> None:
    _forget_signup_limits()
    email = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    # The reader's browser is on New York time: their account, and so the hour their
    # briefing comes at, takes it (the site's default for English would be UTC).
    tab = open_tab(timezone_id="America/New_York")
    page = tab.page

    tab.open("/accounts/signup/")
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("form.account-form").get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/confirm-email/")
    _forget_signup_limits()  # and leave the other tests' 127.0.0.1 counter as it was
    expect(page.locator("h1")).to_have_text("Confirm your email address")
    expect(page.locator(".site-nav")).not_to_contain_text("Log out")

    [message] = smtp_inbox.wait_for(1)
    assert message["To"] == email
    assert str(message["Subject"]).startswith("[AcademicHub]")
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", body.get_content())
    assert link, body.get_content()
    tab.open(urlsplit(link.group(0)).path)
    expect(page.locator("main")).to_contain_text(email)
    page.locator("main").get_by_role("button", name="Confirm").click()
    page.wait_for_load_state("networkidle")

    expect(page.locator(".site-nav").get_by_role("button", name="Log out")).to_be_visible()
    user = User.objects.get(email=email)
    assert EmailAddress.objects.get(user=user, email=email).verified
    assert user.password.startswith("argon2")
    assert Profile.objects.get(user=user).timezone == "America/New_York"

    page.locator(".site-nav").get_by_role("button", name="Log out").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".site-nav").get_by_role("link", name="Log in")).to_be_visible()

    tab.open("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.locator("form.account-form").get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".site-nav").get_by_role("button", name="Log out")).to_be_visible()
    assert tab.path() == "/"
    assert len(smtp_inbox.messages) == 1  # logging in again sends nothing
    assert tab.console_errors() == []


def _switch_to_chinese(tab: Tab) -> None:
    tab.open("/")
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")
    tab.page.locator(".site-nav").get_by_role("button", name="中文").click()
    tab.page.wait_for_load_state("networkidle")


def test_the_language_switch_re_renders_the_page_in_chinese_and_sticks(
    open_tab: OpenTab,
) -> None:
    arxiv_paper(title="Language models as librarians")
    tab = open_tab()

    _switch_to_chinese(tab)

    assert tab.path() == "/"
    expect(tab.page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(tab.page.locator(".site-nav").get_by_role("button", name="English")).to_be_visible()
    cookies = {c["name"]: c["value"] for c in tab.page.context.cookies()}
    assert cookies["lang"] == "zh-hans"
    tab.open("/search/")
    expect(tab.page.locator("html")).to_have_attribute("lang", "zh-Hans")
    tab.page.locator(".site-nav").get_by_role("button", name="English").click()
    tab.page.wait_for_load_state("networkidle")
    assert tab.path() == "/search/"
    expect(tab.page.locator("html")).to_have_attribute("lang", "en")


def test_after_the_switch_the_hero_reads_in_chinese(open_tab: OpenTab) -> None:
    tab = open_tab()

    _switch_to_chinese(tab)

    expect(tab.page.locator(".hero h1")).to_have_text(ZH_HERO, timeout=1_000)
    tab.open("/")
    expect(tab.page.locator(".hero h1")).to_have_text(ZH_HERO, timeout=1_000)
    # The navigation is translated too (whatever words the translator chose).
    nav = tab.page.locator(".site-nav")
    expect(nav.get_by_role("link", name="Search", exact=True)).to_have_count(0, timeout=1_000)
