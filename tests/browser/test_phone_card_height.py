"""On a phone a front-page card fits about one screen: its abstract stays folded whether or not
the paper has a summary yet (a paper without one opened its whole abstract, several screens of
it). Measured in Chromium at 390×844 on the recorded arXiv day, in both languages, before and
after the papers get their (extractive) summaries. Screenshots: var/screenshots/h41-phone-*.png."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from digests.cards import cards_generate
from tests.browser.conftest import PHONE, SCREENSHOTS, OpenTab, ReadingDay, Tab

CARDS = 10
# A card may be as tall as the screen (a long title, many authors and a summary), not taller.
MAX_HEIGHT = PHONE["height"]


def card_heights(tab: Tab) -> list[tuple[str, float, bool]]:
    """The first cards of the page: (id, height in CSS pixels, whether its abstract is open)."""
    tab.page.evaluate("document.fonts.ready.then(() => true)")
    return [
        (row["id"], row["height"], row["open"])
        for row in tab.page.evaluate(
            """n => [...document.querySelectorAll('.paper-card')].slice(0, n).map(card => ({
                id: card.id,
                height: card.getBoundingClientRect().height,
                open: !!card.querySelector('details.paper-card__fold[open]'),
            }))""",
            CARDS,
        )
    ]


def shoot(tab: Tab, name: str) -> None:
    """Two screens' worth of the page from its first card."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top = tab.page.evaluate(
        "document.querySelector('.paper-card').getBoundingClientRect().top + window.scrollY"
    )
    tab.page.screenshot(
        path=str(SCREENSHOTS / f"h41-phone-{name}.png"),
        full_page=True,
        clip={"x": 0, "y": top - 8, "width": PHONE["width"], "height": 2 * PHONE["height"]},
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_front_page_card_fits_a_phone_screen_with_and_without_summaries(
    open_tab: OpenTab, reading_day: ReadingDay, language: str
) -> None:
    tab = open_tab(language=language, viewport=PHONE)
    tab.open("/")
    bare = card_heights(tab)
    shoot(tab, f"{language}-without-summaries")
    assert len(bare) == CARDS
    assert not tab.page.locator(".llm-card").count()  # no summaries yet
    assert [(card, height) for card, height, _ in bare if height > MAX_HEIGHT] == []
    assert [(card, open_) for card, _, open_ in bare if open_] == []

    cards_generate([int(card.removeprefix("paper-")) for card, _, _ in bare])
    cache.clear()  # a visitor's front page is reused for a minute
    tab.open("/")
    summarised = card_heights(tab)
    shoot(tab, f"{language}-with-summaries")
    assert [card for card, _, _ in summarised] == [card for card, _, _ in bare]
    assert tab.page.locator(".paper-card .llm-card").count() >= CARDS
    assert [(card, height) for card, height, _ in summarised if height > MAX_HEIGHT] == []
    assert [(card, open_) for card, _, open_ in summarised if open_] == []

    # The fold still opens: the whole abstract is one tap away.
    first = tab.page.locator(".paper-card").first
    first.locator("details.paper-card__fold > summary").click()
    assert first.locator(".paper-card__abstract").is_visible()
    assert tab.console_errors() == []
