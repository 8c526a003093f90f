"""The browser tests' real parts: Debian's Chromium via Playwright, the live server, an SMTP server.

One Chromium serves the whole folder (package scope). Playwright's sync API keeps an event
loop running in the main thread while it is open, and Django refuses ORM calls from a thread
with a running loop; the package scope ends that loop (and the DJANGO_ALLOW_ASYNC_UNSAFE
switch that lets these tests use the ORM) before the next test folder starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from feeds.models import Paper, Source
from feeds.pipeline.poll import body_ingest
from testkit.smtp_sink import Sink, mailer_settings
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import fixture_bytes
from tests.factories import arxiv_paper, biorxiv_paper, journal_paper

SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)

# The recorded arXiv RSS response: 1,504 papers announced on this day.
ARXIV_DAY = date(2024, 11, 28)
FORMULA_TITLE = "The Smith normal form of the Q-walk matrix of the Dynkin graph $A_n$"


@dataclass
class Tab:
    """One page in a browser context of its own, with every request and console message."""

    page: Page
    origin: str
    requests: list[Request] = field(default_factory=list)
    console: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def open(self, path: str, *, idle: bool = True) -> Response:
        """Load `path` from the live server and wait until the network is quiet (or `load`)."""
        response = self.page.goto(self.origin + path)
        assert response is not None, path
        if idle:
            self.page.wait_for_load_state("networkidle")
        return response

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but the live server."""
        return [r.url for r in self.requests if not r.url.startswith(self.origin + "/")]

    def csp_reports(self) -> list[str]:
        """Console messages in which Chromium reports a Content Security Policy violation."""
        return [m.text for m in self.console if "Content Security Policy" in m.text]

    def console_errors(self) -> list[str]:
        """Console errors and uncaught exceptions (Chromium's automatic favicon 404 aside)."""
        errors = [
            f"{m.text} {m.location.get('url', '')}"
            for m in self.console
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
        ]
        return errors + self.page_errors

    def path(self) -> str:
        """The current URL without the origin."""
        return self.page.url.removeprefix(self.origin)


class OpenTab(Protocol):
    """What the `open_tab` fixture gives: a function opening a new recorded tab."""

    def __call__(
        self,
        *,
        user: User | None = None,
        language: str | None = None,
        viewport: ViewportSize = DESKTOP,
        color_scheme: Literal["light", "dark"] = "light",
        timezone_id: str | None = None,
    ) -> Tab: ...


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the whole folder (the test script installs it)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: script/test installs Debian's chromium"
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_tab(
    chromium: Browser, live_server: LiveServer, transactional_db: None
) -> Iterator[OpenTab]:
    """Open a recorded tab, signed in as `user` and with a `language` cookie if given."""
    contexts: list[BrowserContext] = []

    def _open(
        *,
        user: User | None = None,
        language: str | None = None,
        viewport: ViewportSize = DESKTOP,
        color_scheme: Literal["light", "dark"] = "light",
        timezone_id: str | None = None,
    ) -> Tab:
        context = chromium.new_context(
            timezone_id=timezone_id,
            viewport=viewport,
            color_scheme=color_scheme,
            locale="en-US",
            accept_downloads=True,
            is_mobile=viewport == PHONE,
            has_touch=viewport == PHONE,
        )
        contexts.append(context)
        cookies: list[Any] = []
        if language:
            cookies.append({"name": "lang", "value": language, "url": live_server.url})
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies["sessionid"].value
            cookies.append({"name": "sessionid", "value": session, "url": live_server.url})
        if cookies:
            context.add_cookies(cookies)
        tab = Tab(page=context.new_page(), origin=live_server.url)
        # Playwright wants real functions as handlers, not bound builtins like list.append.
        tab.page.on("request", lambda request: tab.requests.append(request))
        tab.page.on("console", lambda message: tab.console.append(message))
        tab.page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
        return tab

    yield _open
    for context in contexts:
        context.close()


# --- Mail ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_inbox(settings: Settings) -> Iterator[Sink]:
    """A real SMTP server on loopback, and Django's default mailer pointed at it."""
    # The live server runs in this process, so the override reaches its thread too.
    sink = Sink().start()
    settings.MAILERS = mailer_settings(sink.port, timeout=10)
    try:
        yield sink
    finally:
        sink.stop()


# --- Data ------------------------------------------------------------------------------------


@dataclass
class ReadingDay:
    """The recorded arXiv day plus a journal paper, a bioRxiv paper and a day before it."""

    arxiv: Source
    formula: Paper
    journal: Paper
    biorxiv: Paper
    earlier: Paper


@pytest.fixture
def reading_day(transactional_db: None) -> ReadingDay:
    """1,504 real arXiv papers (many with $…$ TeX), one journal and one bioRxiv paper."""
    arxiv = Source.objects.create(
        slug="arxiv-all",
        kind=Source.Kind.ARXIV_RSS,
        label="arXiv (all archives)",
        discipline="Physical Sciences",
        url="https://rss.arxiv.org/rss/astro-ph+cs+math",
    )
    body_ingest(arxiv, fixture_bytes("arxiv-rss-all-archives-2024-11-28.xml"))
    journal = journal_paper(
        title="Ocean warming reshapes plankton communities",
        abstract="A multi-year survey of the North Atlantic.",
        abstract_html="<p>A <b>multi-year</b> survey of the North Atlantic.</p>",
        authors=["Maria Sanz", "Kenji Ito"],
        announced=ARXIV_DAY,
    )
    biorxiv = biorxiv_paper(
        title="Single-cell atlas of the zebrafish fin",
        abstract="We profile 40,000 cells.",
        authors=["Lee, A.", "Okafor, B."],
        announced=ARXIV_DAY,
    )
    earlier = arxiv_paper(
        source=arxiv,
        key="2411.99001",
        arxiv_id="2411.99001",
        title="A paper from the day before",
        announced=date(2024, 11, 27),
    )
    return ReadingDay(
        arxiv=arxiv,
        formula=Paper.objects.get(title=FORMULA_TITLE),
        journal=journal,
        biorxiv=biorxiv,
        earlier=earlier,
    )


def write_json(name: str, data: object) -> Path:
    """Write `data` as JSON under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
