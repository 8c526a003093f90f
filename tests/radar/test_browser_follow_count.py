"""Following a public topic in a real browser: the follower count beside the button changes
with it, on the topics directory and on the topic's page, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import UserFactory, make_radar


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
@pytest.mark.parametrize(
    ("lang", "follow", "unfollow", "one", "two"),
    [
        ("en", "Follow", "Unfollow", "1 follower", "2 followers"),
        ("zh-hans", "关注", "取消关注", "1 位关注者", "2 位关注者"),
    ],
)
def test_the_follower_count_follows_the_button(
    live_server: Any,
    transactional_db: None,
    lang: str,
    follow: str,
    unfollow: str,
    one: str,
    two: str,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    alice: User = UserFactory.create(name="alice")
    bob: User = UserFactory.create(name="bob")
    topic = make_radar(bob, name="Diffusion models", include="diffusion", public=True)
    client = Client()
    client.force_login(alice)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies(
                [
                    {
                        "name": "sessionid",
                        "value": client.cookies["sessionid"].value,
                        "url": live_server.url,
                    },
                    {"name": "lang", "value": lang, "url": live_server.url},
                ]
            )
            page = context.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))

            for url, place in (
                (f"{live_server.url}/topics/", f"#topic-{topic.pk}"),
                (f"{live_server.url}/topics/{topic.pk}/", ".hero"),
            ):
                page.goto(url)
                row = page.locator(place)
                expect(row).to_contain_text(one)  # bob follows his own topic
                row.get_by_role("button", name=follow, exact=True).click()
                expect(row.get_by_role("button", name=unfollow, exact=True)).to_be_visible()
                expect(row).to_contain_text(two)
                row.get_by_role("button", name=unfollow, exact=True).click()
                expect(row.get_by_role("button", name=follow, exact=True)).to_be_visible()
                expect(row).to_contain_text(one)
                expect(row).not_to_contain_text(two)
        finally:
            browser.close()
    assert problems == []
