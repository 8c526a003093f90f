"""/settings/api/ on a phone, in a real browser: two tokens and a new one's secret fit the screen's
width, with nothing to scroll sideways (the page, the table or the secret's box), in both
languages; on a laptop the tokens stay a table with its header."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.tokens import token_create
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.factories import make_user

# What overflows sideways: the page, any element that scrolls its own content (but a text box,
# whose value scrolls inside it by design, and a visually hidden one of 1 px), and any element
# past the screen's right edge.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("main *")) {
    const box = el.getBoundingClientRect();
    const scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible";
    if (scrolls && el.clientWidth > 1 && !["INPUT", "TEXTAREA"].includes(el.tagName))
      wide.push("scrolls: " + el.tagName + "." + el.className);
    if (box.width > 0 && box.right > width + 1) wide.push("past the edge: " + el.tagName + "." + el.className);
  }
  return {page: document.scrollingElement.scrollWidth, width, wide};
}"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium")
@pytest.mark.parametrize(
    ("lang", "create", "revoke"),
    [("en", "Create token", "Revoke"), ("zh-hans", "创建令牌", "撤销")],
)
def test_two_tokens_and_a_new_secret_fit_a_phone(
    live_server: Any, transactional_db: None, lang: str, create: str, revoke: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    alice = make_user("alice@example.org")
    token_create(user=alice, name="Zotero sync on my laptop")
    token_create(user=alice, name="A nightly script that exports my saved papers to a notebook")
    client = Client()
    client.force_login(alice)
    cookies = [
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
        {"name": "lang", "value": lang, "url": live_server.url},
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844})
            phone.add_cookies(cookies)  # type: ignore[arg-type]
            page = phone.new_page()
            page.goto(f"{live_server.url}/settings/api/")
            expect(page.locator("tr[data-token-id]")).to_have_count(2)
            listed = page.evaluate(OVERFLOW)
            revoke_buttons = page.get_by_role("button", name=revoke, exact=True)
            expect(revoke_buttons).to_have_count(2)
            expect(revoke_buttons.first).to_be_in_viewport()

            # A third token: its secret, shown once, fits too.
            page.get_by_role("textbox").first.fill("Jupyter")
            page.get_by_role("button", name=create).click()
            expect(page.locator("tr[data-token-id]")).to_have_count(3)
            secret = page.locator("[data-new-token]")
            expect(secret).to_be_visible()
            created = page.evaluate(OVERFLOW)
            secret_box = secret.bounding_box()

            laptop = browser.new_context(viewport={"width": 1280, "height": 800})
            laptop.add_cookies(cookies)  # type: ignore[arg-type]
            page = laptop.new_page()
            page.goto(f"{live_server.url}/settings/api/")
            expect(page.locator("table.api-tokens thead")).to_be_visible()
            cells = page.locator("tr[data-token-id]").first.locator("td")
            tops = {round((cells.nth(n).bounding_box() or {"y": -1})["y"]) for n in range(4)}
        finally:
            browser.close()

    assert listed["page"] <= listed["width"] == 390
    assert listed["wide"] == []
    assert created["page"] <= 390 and created["wide"] == []
    assert secret_box is not None and secret_box["x"] + secret_box["width"] <= 390
    assert len(tops) == 1  # on a laptop a token is one row of cells
