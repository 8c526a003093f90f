"""The radar form's live preview in a real browser, on a phone and on a laptop: whoever types a
description sees the preview answer on the same screen as the description box."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect


def _on_one_screen(a: FloatRect, b: FloatRect, height: float) -> bool:
    """Whether both boxes fit in one screen's height together (one scroll position shows both)."""
    return max(a["y"] + a["height"], b["y"] + b["height"]) - min(a["y"], b["y"]) <= height


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
@pytest.mark.parametrize(("lang", "label"), [("en", "Your interest"), ("zh-hans", "你的兴趣")])
def test_typing_a_description_shows_the_preview_near_the_description_box(
    live_server: Any, transactional_db: None, nature_day: dict[str, str], lang: str, label: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    alice: User = UserFactory.create(name="alice")
    client = Client()
    client.force_login(alice)
    cookies = [
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
        {"name": "lang", "value": lang, "url": live_server.url},
    ]
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # A phone: the description box is far down the form, the full preview is not.
            phone = browser.new_context(viewport={"width": 390, "height": 844})
            phone.add_cookies(cookies)  # type: ignore[arg-type]
            page = phone.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{live_server.url}/radars/new/")
            description = page.get_by_label(label)
            description.press_sequentially("psilocybin and the brain", delay=20)
            best = page.locator("#radar-preview .preview-item__title").first
            expect(best).to_be_visible()
            title = best.inner_text()
            page.wait_for_load_state("networkidle")
            description.scroll_into_view_if_needed()
            box = description.bounding_box()
            assert box is not None
            # Somewhere on the description's screen, the preview's answer: its best paper.
            answers = page.get_by_text(title, exact=True)
            boxes = [answer.bounding_box() for answer in answers.all() if answer.is_visible()]
            near = [b for b in boxes if b is not None and _on_one_screen(box, b, 844)]
            assert near, "the preview's best paper is not on the description's screen"
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 390

            # A laptop: the preview stays beside the form, said once.
            laptop = browser.new_context(viewport={"width": 1280, "height": 800})
            laptop.add_cookies(cookies)  # type: ignore[arg-type]
            page = laptop.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{live_server.url}/radars/new/")
            description = page.get_by_label(label)
            description.press_sequentially("psilocybin and the brain", delay=20)
            best = page.locator("#radar-preview .preview-item__title").first
            expect(best).to_be_visible()
            page.wait_for_load_state("networkidle")
            form = page.locator("#radar-form").bounding_box()
            aside = page.locator(".radar-preview").bounding_box()
            assert form is not None and aside is not None
            assert aside["x"] >= form["x"] + form["width"]  # beside, not below
            assert aside["y"] < 800
            answers = page.get_by_text(best.inner_text(), exact=True)
            assert sum(answer.is_visible() for answer in answers.all()) == 1
        finally:
            browser.close()
    assert problems == []
