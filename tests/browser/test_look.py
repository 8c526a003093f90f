"""Look and weight: screenshots in both languages at two widths, dark mode, bytes per page.

The PNGs and page-weight.json land in var/screenshots/ (git-ignored) for people to look at.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import FloatRect, ViewportSize, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    OpenTab,
    ReadingDay,
    Tab,
    write_json,
)

KB = 1024
# A cold load, fonts included. KaTeX alone is ~280 KB of script and CSS before any font.
PAGE_BUDGET = 1536 * KB
DOCUMENT_BUDGET = 300 * KB


def _pages(day: ReadingDay) -> dict[str, str]:
    return {
        "today": "/",
        "paper": f"/papers/{day.formula.key}/",  # one with $A_n$ in its title
        "search": "/search/?q=quantum",
    }


def _settle(tab: Tab) -> None:
    """Wait for the web fonts (KaTeX's) the page asked for, so screenshots are final.

    KaTeX has run by then: site.js renders on DOMContentLoaded, before `load`.
    """
    tab.page.evaluate("document.fonts.ready.then(() => true)")


def _weigh(tab: Tab) -> dict[str, Any]:
    by_type: Counter[str] = Counter()
    total = 0
    document = 0
    document_ms = 0.0
    for request in tab.requests:
        size = request.sizes()["responseBodySize"]
        total += size
        by_type[request.resource_type] += size
        if request.resource_type == "document":
            document += size
            document_ms = request.timing["responseEnd"]
    return {
        "requests": len(tab.requests),
        "bytes": total,
        "document_bytes": document,
        "document_ms": round(document_ms),
        "bytes_by_type": dict(sorted(by_type.items())),
    }


def test_pages_weigh_little_on_a_cold_load(open_tab: OpenTab, reading_day: ReadingDay) -> None:
    weights: dict[str, dict[str, Any]] = {}
    for name, path in _pages(reading_day).items():
        tab = open_tab()
        tab.open(path)
        _settle(tab)
        weights[name] = {"path": path, **_weigh(tab)}
        assert tab.foreign_requests() == []

    report = write_json("page-weight.json", weights)
    print(f"\npage weight ({report}):")
    for name, weight in weights.items():
        print(
            f"  {name:7} {weight['requests']:3} requests  {weight['bytes'] / KB:7.1f} KB"
            f"  (HTML {weight['document_bytes'] / KB:.1f} KB in {weight['document_ms']} ms)"
            f"  {weight['bytes_by_type']}"
        )
    assert reading_day.formula.title.endswith("$A_n$") and weights["paper"]["bytes_by_type"]["font"]
    for name, weight in weights.items():
        assert weight["bytes"] < PAGE_BUDGET, (name, weight)
        assert 0 < weight["document_bytes"] < DOCUMENT_BUDGET, (name, weight)
        assert weight["requests"] <= 20, (name, weight)


def _screenshot(tab: Tab, target: Path) -> None:
    """The top of the page, two screens tall: header, filters and the first cards."""
    viewport = tab.page.viewport_size
    assert viewport is not None
    height = tab.page.evaluate("document.documentElement.scrollHeight")
    clip = FloatRect(x=0, y=0, width=viewport["width"], height=min(height, 2 * viewport["height"]))
    tab.page.screenshot(path=target, full_page=True, clip=clip)


def _no_sideways_scroll(tab: Tab) -> None:
    widths = tab.page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], (tab.path(), widths)


def _one_column(tab: Tab) -> None:
    boxes = tab.page.locator(".paper-card").evaluate_all(
        "cards => cards.map(c => { const r = c.getBoundingClientRect();"
        " return {x: Math.round(r.left), width: r.width}; })"
    )
    assert boxes, tab.path()
    assert len({box["x"] for box in boxes}) == 1, boxes
    assert all(box["width"] >= 0.85 * PHONE["width"] for box in boxes), boxes


def test_today_paper_and_search_fit_phones_in_both_languages_and_are_screenshotted(
    open_tab: OpenTab, reading_day: ReadingDay
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    taken = []
    for language, html_lang in (("en", "en"), ("zh-hans", "zh-Hans")):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            tab = open_tab(language=language, viewport=viewport)
            for name, path in _pages(reading_day).items():
                tab.open(path, idle=False)
                _settle(tab)
                expect(tab.page.locator("html")).to_have_attribute("lang", html_lang)
                expect(tab.page.locator(".katex").first).to_be_attached()
                if device == "phone":
                    _no_sideways_scroll(tab)
                    if name != "paper":
                        _one_column(tab)
                short = "en" if language == "en" else "zh"
                target = SCREENSHOTS / f"{name}-{short}-{device}.png"
                _screenshot(tab, target)
                taken.append(target)
            assert tab.console_errors() == []
            assert tab.foreign_requests() == []

    assert all(path.stat().st_size > 10_000 for path in taken), taken
    print("\nscreenshots:", *[path.name for path in taken])


def test_today_turns_dark_with_the_system_setting(
    open_tab: OpenTab, reading_day: ReadingDay
) -> None:
    backgrounds = {}
    cases: list[tuple[str, ViewportSize, Literal["light", "dark"]]] = [
        ("desktop", DESKTOP, "light"),
        ("desktop", DESKTOP, "dark"),
        ("phone", PHONE, "dark"),
    ]
    for device, viewport, scheme in cases:
        tab = open_tab(viewport=viewport, color_scheme=scheme)
        tab.open("/", idle=False)
        _settle(tab)
        backgrounds[device, scheme] = tab.page.evaluate(
            "getComputedStyle(document.body).backgroundColor"
        )
        if scheme == "dark":
            _screenshot(tab, SCREENSHOTS / f"today-en-{device}-dark.png")
            _no_sideways_scroll(tab)

    # No setting in the app: prefers-color-scheme alone turns the page dark.
    assert backgrounds["desktop", "light"] == "rgb(247, 245, 240)"
    assert backgrounds["desktop", "dark"] == backgrounds["phone", "dark"] == "rgb(20, 23, 27)"
