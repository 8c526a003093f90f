"""In Chromium: a pending card on the paper page fills in by itself, KaTeX renders its maths,
the polling stops once it is done, the language toggle swaps in place, and CSP stays quiet."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from digests.cards import cards_generate, cards_request
from digests.models import Card
from testkit.fake_llm import FakeLLM
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import MatchFactory, SourceFactory, UserFactory, make_paper, radar_of


def in_thread(fn: Any, *args: Any) -> Any:
    """Run ORM work off Playwright's event-loop thread."""

    def run() -> Any:
        try:
            return fn(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
def test_a_pending_card_fills_in_by_itself(
    live_server: Any, transactional_db: None, llm_settings: Settings, fake_llm: FakeLLM
) -> None:
    from playwright.sync_api import sync_playwright

    source = SourceFactory.create(slug="arxiv-browser", kind="arxiv_rss")
    paper = make_paper(source, title="Sparse attention for long documents")
    MatchFactory.create(radar=radar_of(UserFactory.create(name="reader")), paper=paper)
    cards_request([paper.pk])
    assert Card.objects.get(paper=paper).status == "pending"

    problems: list[str] = []
    card_requests: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on(
                "request",
                lambda r: card_requests.append(time.monotonic()) if "/cards/" in r.url else None,
            )
            page.goto(f"{live_server.url}/papers/{paper.key}/")
            page.locator(".llm-card--pending").wait_for()
            assert "Summary pending" in page.locator(".llm-card").inner_text()

            # A worker makes the card meanwhile (the fake LLM answers at once).
            in_thread(cards_generate, [paper.pk])
            page.locator(".llm-card--done").wait_for(timeout=15_000)
            text = page.locator(".llm-card").inner_text()
            maths = page.locator(".llm-card .katex").count()
            done_at = time.monotonic()

            # Open the structured card, then switch to Chinese only, in place.
            page.locator(".llm-card__more summary").click()
            assert page.locator(".llm-card__sections").first.is_visible()
            page.locator(".llm-card__langs a[lang='zh-Hans']").click()
            page.locator(".llm-card__langs a[aria-current='true'][lang='zh-Hans']").wait_for()
            zh_only = page.locator(".llm-card").inner_text()
            url_after_toggle = page.url

            page.wait_for_timeout(6_000)  # longer than one polling interval
        finally:
            browser.close()

    assert "本文提出一种稀疏注意力方法" in text and "proposes a sparse attention method" in text
    assert maths >= 1  # $O(n^2)$ rendered by KaTeX after the swap
    assert "proposes a sparse attention method" not in zh_only
    assert url_after_toggle == f"{live_server.url}/papers/{paper.key}/"
    # Polling stopped with the done card: only the toggle asked for the card since.
    assert len([t for t in card_requests if t > done_at]) == 1
    assert [p for p in problems if "favicon" not in p] == []
