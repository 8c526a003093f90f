"""In Chromium (no emoji font on this machine): stars and thumbs draw as SVG icons, pressed
ones filled; on a phone the radar form's live preview sits above the form, beside it on a
desktop. Screenshots of the changed pages in both languages at both widths go to
var/screenshots/ (issue13-*.png)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import ViewportSize

from accounts.services import profile_for, profile_update
from feeds.models import Source
from radar.models import Feedback, Match, Radar, SavedPaper
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, OpenTab, Tab
from tests.factories import (
    SourceFactory,
    UserFactory,
    arxiv_paper,
    biorxiv_paper,
    journal_paper,
    make_radar,
)

GLYPHS = re.compile("[\u2600-\u27bf\u2b50\U0001f300-\U0001faff]")
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def _reader(language: str) -> tuple[User, Radar]:
    """A reader in `language` with a radar that caught three papers: one liked and saved."""
    user: User = UserFactory.create(name="iris")
    profile_update(profile=profile_for(user), language=language)
    SourceFactory.create(
        slug="sample-nature", kind=Source.Kind.RSS, label="Nature", discipline="Multidisciplinary"
    )
    radar = make_radar(
        user,
        name="Language models",
        description="Large language models.",
        include="attention OR atlas OR plankton",
    )
    # Announced today, so the form's preview (the last week) finds them too.
    today = timezone.localdate()
    liked = arxiv_paper(
        title="Sparse attention for long documents", primary_category="cs.CL", announced=today
    )
    papers = [
        liked,
        biorxiv_paper(title="A single-cell atlas of the zebrafish fin", announced=today),
        journal_paper(title="Ocean warming reshapes plankton communities", announced=today),
    ]
    for n, paper in enumerate(papers):
        Match.objects.create(radar=radar, paper=paper, score=70.0 - n, reasons=[["title", "x", 70]])
    Feedback.objects.create(user=user, radar=radar, paper=liked, value=1)
    SavedPaper.objects.create(user=user, paper=liked)
    return user, radar


def _shoot(tab: Tab, selector: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.evaluate("document.fonts.ready.then(() => true)")
    tab.page.locator(selector).first.screenshot(path=str(SCREENSHOTS / f"issue13-{name}.png"))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_icons_draw_as_svg_and_the_phone_preview_comes_first(
    open_tab: OpenTab, language: str
) -> None:
    user, radar = _reader(language)
    make_radar(UserFactory.create(name="otto"), name="Diffusion models", public=True)

    for width, viewport in WIDTHS.items():
        tab = open_tab(user=user, language=language, viewport=viewport)
        tab.open(f"/radars/{radar.pk}/")
        buttons = tab.page.locator(".save-button, .feedback-button")
        assert buttons.count() == 9
        for n in range(buttons.count()):
            button = buttons.nth(n)
            assert not GLYPHS.search(button.inner_text()), button.inner_text()
            icon = button.locator("svg.icon")
            box = icon.bounding_box()
            assert box is not None and 12 <= box["width"] <= 32 and box["height"] > 10
            assert icon.get_attribute("aria-hidden") == "true"
            assert button.get_attribute("aria-label")
            # Pressed buttons fill their icon: visible without relying on colour alone.
            fill = icon.locator(".icon__fill").evaluate("e => getComputedStyle(e).fill")
            pressed = button.get_attribute("aria-pressed") == "true"
            assert (fill != "none") == pressed, (n, fill)
        first_card = tab.page.locator(".match-card").first
        assert first_card.locator(".save-button[aria-pressed=true]").count() == 1
        assert first_card.locator(".feedback-button--up[aria-pressed=true]").count() == 1
        _shoot(tab, ".paper-list, .match-list, main", f"radar-feed-{language}-{width}")

        tab.open(f"/radars/{radar.pk}/edit/")
        preview = tab.page.locator(".radar-preview").bounding_box()
        form = tab.page.locator("#radar-form").bounding_box()
        picker = tab.page.locator(".radar-editor > .picker").bounding_box()
        assert preview and form and picker
        if viewport == PHONE:
            assert preview["y"] + preview["height"] <= min(form["y"], picker["y"]) + 1
            assert preview["height"] <= 0.56 * PHONE["height"]
        else:
            assert preview["x"] > form["x"] + form["width"] - 1  # the column beside the form
            assert abs(preview["y"] - picker["y"]) < 2
        _shoot(tab, ".radar-editor", f"radar-edit-{language}-{width}")
        assert tab.console_errors() == [] and tab.csp_reports() == []

        tab.open("/topics/")
        _shoot(tab, "main", f"topics-{language}-{width}")
        tab.open("/?discipline=Multidisciplinary")
        _shoot(tab, "main", f"today-filter-{language}-{width}")
        tab.open("/")
        _shoot(tab, "main", f"today-{language}-{width}")


def test_the_delete_page_and_empty_saved_list_have_no_glyph_boxes(open_tab: OpenTab) -> None:
    user, radar = _reader("zh-hans")
    SavedPaper.objects.filter(user=user).delete()
    for width, viewport in WIDTHS.items():
        tab = open_tab(user=user, language="zh-hans", viewport=ViewportSize(**viewport))
        tab.open("/saved/")
        empty = tab.page.locator(".empty")
        assert not GLYPHS.search(empty.inner_text())
        assert empty.locator("svg.icon--star").bounding_box() is not None
        _shoot(tab, "main", f"saved-empty-zh-hans-{width}")
        tab.open(f"/radars/{radar.pk}/delete/")
        assert not GLYPHS.search(tab.page.locator("main").inner_text())
