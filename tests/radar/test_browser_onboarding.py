"""A first radar from papers you like, in a real browser: search, add three papers while the
preview follows (papers like them, not the picked ones), paste ids, remove one, save, and the
radar's feed shows its matches, without the picked papers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from feeds.models import Paper
from radar.matching import radar_rescore
from radar.models import Radar
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import UserFactory
from tests.radar.test_browser_radar import in_thread


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
def test_a_radar_made_from_three_liked_papers_finds_papers_like_them(
    live_server: Any, transactional_db: None, nature_day: dict[str, str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    alice: User = UserFactory.create(name="alice")
    client = Client()
    client.force_login(alice)
    session = client.cookies["sessionid"].value
    plastic = [
        key for title, key in nature_day.items() if "plastic" in title.lower()
    ]  # two papers on plastics, pasted as ids below

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 900})
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

            page.goto(f"{live_server.url}/radars/new/")
            picked = page.locator("#picked-papers")
            expect(picked).to_contain_text("None yet: add 3–5 papers.")
            page.get_by_label("Name").fill("Psychedelics and the brain")

            # Search: the results come without a page load, each with an "Add" button.
            page.get_by_label("Find papers").fill("psilocybin brain")
            results = page.locator("#pick-results .pick-item")
            expect(results.first).to_be_visible()
            preview = page.locator("#radar-preview")
            for n in (1, 2, 3):
                results.locator(".pick-add:not([disabled])").first.click()
                expect(picked).to_contain_text(f"{n} of 3–5 picked")
                expect(picked.locator(".picked__item")).to_have_count(n)
            expect(picked).to_contain_text("enough to start")
            # The preview followed the picks: papers like them, without typing anything else,
            # and not the picked papers themselves (it says so).
            expect(preview.locator(".preview-item__title").first).to_be_visible()
            expect(preview).to_contain_text("Adaptation to photoperiod")
            expect(preview).to_contain_text("Your 3 example papers are left out of the preview.")
            expect(page.locator("#pick-results .pick-add[disabled]")).to_have_count(3)

            # Paste two ids at once: both are added; then remove one of them again.
            search = page.get_by_label("Find papers")
            search.fill("")
            search.dispatch_event("paste")
            search.fill(" ".join(plastic))
            expect(picked.locator(".picked__item")).to_have_count(5)
            expect(picked).to_contain_text("5 of 3–5 picked")
            picked.locator(".picked__item").last.get_by_role("button", name="Remove").click()
            expect(picked.locator(".picked__item")).to_have_count(4)
            expect(picked).to_contain_text("4 of 3–5 picked")

            # An unknown id is said so plainly.
            search.fill("2411.99999")
            expect(page.locator("#pick-results")).to_contain_text("Not found: 2411.99999.")

            # An author: their recent papers, and a button to follow them.
            search.fill("petridis")
            page.get_by_role("button", name="Follow Petros D. Petridis").click()
            expect(page.locator("#pick-results .follow-author")).to_have_text("Followed")
            expect(page.locator("#pick-results .follow-author")).to_be_disabled()
            expect(page.get_by_label("Followed authors")).to_have_value("Petros D. Petridis")

            page.get_by_role("button", name="Create radar").click()
            page.wait_for_url(f"{live_server.url}/radars/*/")
            radar = in_thread(lambda: Radar.objects.get(owner=alice))

            # The rescoring task would run on a worker: run it here, then read the feed.
            in_thread(lambda: radar_rescore(radar))
            page.reload()
            expect(page.locator(".paper-card").first).to_be_visible()
            expect(page.locator("main")).to_contain_text("Adaptation to photoperiod")
            card_titles = page.locator(".paper-card__title").all_inner_texts()
        finally:
            browser.close()

    assert radar.authors == ["Petros D. Petridis"]
    assert len(radar.examples) == 4
    assert plastic[0] in radar.examples and plastic[1] not in radar.examples
    examples = in_thread(lambda: list(Paper.objects.filter(key__in=radar.examples)))
    searched = [p for p in examples if p.key in radar.examples[:3]]
    assert all("psilocybin" in (p.title + p.abstract).lower() for p in searched)
    # The feed holds what the radar found, never the papers it was made from.
    assert len(card_titles) >= 2
    assert not {" ".join(p.title.split()) for p in examples} & {
        " ".join(t.split()) for t in card_titles
    }
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []
