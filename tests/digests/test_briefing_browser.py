"""Briefings in a real browser (Debian's Chromium): the page loads without console errors or
CSP violations and its citations lead to the paper cards; the email's HTML is one column at
most 600 px wide and keeps readable contrast in light and dark mode."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from digests.delivery import dispatch_due
from digests.models import Briefing
from radar.models import Radar
from testkit.smtp_sink import Sink, mail_through
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import follow, matched, paper, person, sources

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def reader(settings: Settings, smtp_sink: Sink) -> User:
    """A reader who has received today's briefing (made without an LLM) of three papers."""
    mail_through(settings, smtp_sink)
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""
    now = timezone.now()
    src = sources()
    user = person("reader", hour=now.hour)
    radar = Radar.objects.create(owner=user, name="Long documents")
    follow(user, radar)
    matched(
        radar,
        [
            paper(src["cs"], "Sparse attention for $O(n)$ long documents"),
            paper(src["bio"], "Long-range attention over genome sequences"),
            paper(src["med"], "Summarising clinical notes with sparse transformers"),
        ],
        at=now - timedelta(hours=2),
    )
    dispatch_due(now=now)
    assert len(smtp_sink.raw) == 1
    return user


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(colour: str) -> float:
        values = [int(v) / 255 for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_briefing_page_and_email_read_well_in_a_browser(
    live_server: Any, reader: User, smtp_sink: Sink, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    briefing = Briefing.objects.get()
    client = Client()
    client.force_login(reader)
    session = client.cookies["sessionid"].value
    html = smtp_sink.messages[0].get_body(preferencelist=("html",))
    assert html is not None
    email_html = str(html.get_content())
    shots = Path(os.environ.get("BRIEFING_SCREENSHOTS", tmp_path))
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{live_server.url}/briefings/{briefing.pk}/")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").inner_text().startswith("3 new papers")
            assert page.locator(".brief-theme").count() >= 1
            page.screenshot(path=str(shots / "briefing-page.png"), full_page=True)
            first = page.locator(".brief-cites a").first
            target = first.get_attribute("href")
            first.click()
            assert page.url.endswith(str(target))
            assert page.locator(str(target)).is_visible()
            # KaTeX rendered the title's maths (the page's scripts ran under the CSP).
            assert page.locator(".katex").count() >= 1

            for scheme in ("light", "dark"):
                mail = browser.new_page(viewport={"width": 900, "height": 900}, color_scheme=scheme)
                mail.set_content(email_html)
                box = mail.locator("table.ah-card").bounding_box()
                assert box is not None and box["width"] <= 600
                colours = mail.evaluate(
                    """() => {
                        const td = document.querySelector('table.ah-card td');
                        const card = document.querySelector('table.ah-card');
                        return [getComputedStyle(td).color, getComputedStyle(card).backgroundColor];
                    }"""
                )
                assert contrast(*colours) >= 7, (scheme, colours)
                mail.screenshot(path=str(shots / f"briefing-email-{scheme}.png"), full_page=True)
                mail.close()
            narrow = browser.new_page(viewport={"width": 375, "height": 800})
            narrow.set_content(email_html)
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375
            narrow.close()
        finally:
            browser.close()
    assert problems == []
