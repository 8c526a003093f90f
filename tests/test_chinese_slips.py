"""Small Chinese wording slips stay fixed: no stray space before 的, a full-width colon
after 捕获自, and the emails page quoting the test-briefing button as the button reads."""

from __future__ import annotations

from pathlib import Path

from django.template.loader import get_template
from django.utils.translation import gettext, ngettext, override

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_a_public_topics_owner_runs_into_的() -> None:
    with override("zh-hans"):
        line = gettext("Public topic by %(owner)s") % {"owner": "AcademicHub 编辑"}
        count = ngettext("%(counter)s follower", "%(counter)s followers", 3) % {"counter": 3}

    assert line == "AcademicHub 编辑的公开主题"
    assert count == "3 位关注者"


def test_caught_by_has_its_colon_in_the_translation() -> None:
    source = (TEMPLATES / "radar" / "_match_card.html").read_text(encoding="utf-8")
    get_template("radar/_match_card.html")

    assert '{% translate "Caught by:" %}' in source
    assert '{% translate "Caught by" %}:' not in source
    with override("zh-hans"):
        assert gettext("Caught by:") == "捕获自："
    with override("en"):
        assert gettext("Caught by:") == "Caught by:"


def test_the_emails_page_quotes_the_button_as_it_reads() -> None:
    with override("zh-hans"):
        button = gettext("Send me a test briefing now")
        hint = gettext(
            "No briefing emails yet. The first one comes at your delivery hour once your "
            "radars have new matches; “Send me a test briefing now” in your settings makes "
            "one at once."
        )

    assert f"“{button}”" in hint
