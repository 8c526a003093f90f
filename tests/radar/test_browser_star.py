"""The star in a real browser: htmx swaps it in place, the CSRF header passes, CSP is quiet."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radar.models import SavedPaper
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import PaperFactory, UserFactory


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
def test_the_star_toggles_without_a_reload(live_server: Any, transactional_db: None) -> None:
    from playwright.sync_api import sync_playwright

    alice: User = UserFactory.create(name="alice")
    paper = PaperFactory.create(title="Starry paper")
    SavedPaper.objects.create(user=alice, paper=paper)
    client = Client()
    client.force_login(alice)
    session = client.cookies["sessionid"].value

    problems: list[str] = []
    navigations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    problems.append(f"{m.text} {m.location.get('url')}")
                    if m.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{live_server.url}/saved/")
            page.wait_for_load_state("networkidle")
            page.on("framenavigated", lambda frame: navigations.append(frame.url))
            star = page.locator(f"#saved-{paper.pk} .save-button")
            assert star.get_attribute("aria-pressed") == "true"

            star.click()
            page.locator(f'#saved-{paper.pk} .save-button[aria-pressed="false"]').wait_for()
            # Playwright's sync API runs an event loop here: query the database from a thread.
            with ThreadPoolExecutor(1) as pool:
                unsaved = not pool.submit(
                    SavedPaper.objects.filter(user=alice, paper=paper).exists
                ).result()
            page.locator(f"#saved-{paper.pk} .save-button").click()
            page.locator(f'#saved-{paper.pk} .save-button[aria-pressed="true"]').wait_for()
            label = page.locator(f"#saved-{paper.pk} .save-button").get_attribute("aria-label")

            page.goto(f"{live_server.url}/settings/")
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()

    assert unsaved
    assert SavedPaper.objects.filter(user=alice, paper=paper).count() == 1
    assert label == "Remove from saved"
    assert navigations[:1] == [f"{live_server.url}/settings/"]  # the star never navigated
    # base.html links no favicon, so Chromium's automatic /favicon.ico 404 is not ours.
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []
