"""Radars in a real browser: create one while the preview follows the typing, rate, follow."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from radar.matching import radar_rescore
from radar.models import Feedback, Radar, Subscription
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PaperFactory, UserFactory


def in_thread[T](call: Callable[[], T]) -> T:
    """Run a database call off Playwright's event loop (Django refuses async contexts)."""

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()  # the thread's own connection would outlive the test database

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
def test_create_a_radar_watch_the_preview_rate_a_paper_and_follow_a_topic(
    live_server: Any, transactional_db: None
) -> None:
    from playwright.sync_api import expect, sync_playwright

    alice: User = UserFactory.create(name="alice")
    bob: User = UserFactory.create(name="bob")
    day = date(2024, 11, 28)
    wanted = PaperFactory.create(
        title="Prompt injection against tool-using agents",
        abstract="Indirect prompt injection hijacks agents.",
        announced=day,
    )
    PaperFactory.create(title="Jailbreak prompts in the wild", announced=day)
    PaperFactory.create(title="Protein folding at scale", announced=day)
    topic = Radar.objects.create(
        owner=bob, name="Diffusion models", include="diffusion", public=True
    )
    client = Client()
    client.force_login(alice)
    session = client.cookies["sessionid"].value

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            # Create: the preview follows what is typed, without a page load.
            page.goto(f"{live_server.url}/radars/new/")
            page.get_by_label("Name").fill("Agent security")
            include = page.get_by_label("Include query")
            include.press_sequentially('"prompt injection"', delay=20)
            preview = page.locator("#radar-preview")
            expect(preview.locator(".preview-item__title")).to_have_text(
                ["Prompt injection against tool-using agents"]
            )
            expect(preview).to_contain_text("title contains 'prompt injection'")
            include.press_sequentially(" OR jailbreak", delay=20)
            expect(preview.locator(".preview-item__title")).to_have_count(2)
            include.press_sequentially(" AND (", delay=20)
            expect(preview.locator('[role="alert"]')).to_contain_text("Include query:")
            include.fill('"prompt injection" OR jailbreak')
            expect(preview.locator(".preview-item__title")).to_have_count(2)
            page.get_by_role("button", name="Create radar").click()
            page.wait_for_url(f"{live_server.url}/radars/*/")
            radar = in_thread(lambda: Radar.objects.get(owner=alice))
            assert radar.include == '"prompt injection" OR jailbreak'

            # Saved a moment ago and not matched yet: the page says so and asks again by
            # itself. The rescoring task would run on a worker: run it here; the matches
            # appear without a reload. Then rate a paper 👍.
            expect(page.locator("#match-area")).to_contain_text("Looking for this radar's papers")
            in_thread(lambda: radar_rescore(radar))
            card = page.locator(f"#paper-{wanted.pk}")
            expect(card).to_be_visible(timeout=10_000)
            expect(card.locator(".badge--unseen")).to_be_visible()
            card.locator(".feedback-button--up").click()
            expect(card.locator('.feedback-button--up[aria-pressed="true"]')).to_be_visible()
            card.get_by_text("Why this paper?").click()
            expect(card.locator(".why__reasons")).to_contain_text("title contains")
            rated = in_thread(
                lambda: list(Feedback.objects.filter(user=alice).values_list("paper_id", "value"))
            )

            # Follow a topic from the directory.
            page.goto(f"{live_server.url}/topics/")
            row = page.locator(f"#topic-{topic.pk}")
            row.get_by_role("button", name="Follow").click()
            expect(row.get_by_role("button", name="Unfollow")).to_be_visible()
            following = in_thread(
                lambda: Subscription.objects.filter(user=alice, radar=topic).exists()
            )
            page.goto(f"{live_server.url}/radars/")
            expect(page.locator(f"#topic-{topic.pk}")).to_contain_text("Diffusion models")
        finally:
            browser.close()

    assert rated == [(wanted.pk, 1)]
    assert following
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []
