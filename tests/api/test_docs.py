"""OpenAPI schema and docs: public, same-origin only, and working under the site's CSP."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.django_db


class _Resources(HTMLParser):
    """Every URL the page loads or links to, and its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.urls += [v for k, v in attrs if k in {"src", "href", "action", "srcset"} and v]
        if tag == "script":
            self.scripts.append(attributes)


def test_the_schema_describes_both_endpoints_and_bearer_auth() -> None:
    schema = Client().get("/api/v1/openapi.json").json()

    assert {"/api/v1/papers", "/api/v1/papers/{key}"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"] == {
        "TokenAuth": {"type": "http", "scheme": "bearer"}
    }
    listed = schema["paths"]["/api/v1/papers"]["get"]
    assert {p["name"] for p in listed["parameters"]} == {
        "date",
        "source",
        "category",
        "announce_type",
        "q",
        "page",
    }
    assert listed["security"] == [{"TokenAuth": []}]
    paper = schema["components"]["schemas"]["PaperOut"]["properties"]
    assert {"key", "arxiv_id", "doi", "announced", "links", "sources", "card"} <= set(paper)


def test_the_docs_page_loads_nothing_from_another_origin() -> None:
    response = Client().get("/api/v1/docs")

    html = response.content.decode()
    page = _Resources()
    page.feed(html)
    assert response.status_code == 200
    assert "://" not in html  # no absolute URL at all, so no CDN and no validator badge
    assert page.urls
    for url in page.urls:
        assert url.startswith("/") and not url.startswith("//"), url
    # Only vendored scripts and a JSON data block: nothing inline for the CSP to block.
    for script in page.scripts:
        assert script.get("src") or script.get("type") == "application/json", script
    for url in page.urls:
        assert finders.find(url.removeprefix("/static/")), url
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
def test_swagger_ui_renders_in_chromium_without_csp_violations(live_server: Any) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on(
                "console",
                lambda message: (
                    problems.append(message.text)
                    if message.type == "error" or "Content Security Policy" in message.text
                    else None
                ),
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{live_server.url}/api/v1/docs")
            page.get_by_text("/api/v1/papers/{key}").first.wait_for(timeout=15_000)
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()

    assert problems == []
    assert f"{live_server.url}/api/v1/openapi.json" in requests
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requests), [
        url for url in requests if not url.startswith(live_server.url)
    ]
