"""What a radar learned is worded by what it learned from: its example papers, the papers its
owner liked, or both (`radar.profiles.likes_learned` reads both), on the radar's page and in
the "why this paper?" reasons; the learned words shown are readable ones, at most eight."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from accounts.models import Profile
from radar.models import Feedback, Match, Radar
from radar.profiles import radar_profile_update
from radar.reasons import LearnedFrom, reason_text
from radar.views import LEARNED_WORDS_SHOWN, _learned
from tests.factories import PaperFactory, RadarFactory, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

JAILBREAK = ("Jailbreak attacks on chat models", "A jailbreak prompt makes the model harmful.")
OTHER = ("Universal jailbreak suffixes", "Adversarial jailbreak suffixes transfer to models.")


def learned_line(html: str) -> str:
    found = re.search(r'<p class="learned helptext" id="learned">(.*?)</p>', html, re.S)
    assert found, "no learned line"
    return " ".join(text_of(found.group(1)).split())


def reasons_on_page(html: str) -> list[str]:
    return [text_of(r) for r in re.findall(r"<li>(.*?)</li>", html) if "+" in text_of(r)]


@pytest.fixture
def from_examples(alice: User) -> Radar:
    """A radar made from an example paper alone (no 👍), with a match of a paper like it."""
    example = PaperFactory.create(
        title=JAILBREAK[0], abstract=JAILBREAK[1], primary_category="cs.CR", categories=["cs.CR"]
    )
    liked_like = PaperFactory.create(
        title=OTHER[0], abstract=OTHER[1], primary_category="cs.CR", categories=["cs.CR"]
    )
    radar = RadarFactory.create(owner=alice, description="LLM jailbreaks", examples=[example.key])
    radar_profile_update(radar)
    radar.refresh_from_db()
    assert radar.learned["categories"] == {"cs.CR": 1.0}
    Match.objects.create(radar=radar, paper=liked_like, score=60.0, reasons=[["liked", "", 24.0]])
    return radar


@pytest.mark.parametrize(
    ("language", "line", "reason", "wrong"),
    [
        ("en", "Learned from your example papers:", "like your example papers: +24", "you liked"),
        ("zh-hans", "从你的示例论文中学到：", "与你的示例论文相似：+24", "点赞"),
    ],
)
def test_a_radar_built_from_examples_says_it_learned_from_them(
    alice: User, from_examples: Radar, language: str, line: str, reason: str, wrong: str
) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": language})

    html = signed_in(alice).get(f"/radars/{from_examples.pk}/").content.decode()

    assert learned_line(html).startswith(line), learned_line(html)
    assert wrong not in learned_line(html)
    assert reason in reasons_on_page(html)
    assert not any(wrong in r for r in reasons_on_page(html))


def test_examples_and_likes_are_both_named(alice: User, from_examples: Radar) -> None:
    liked = Match.objects.get(radar=from_examples).paper
    Feedback.objects.create(user=alice, radar=from_examples, paper=liked, value=1)

    html = signed_in(alice).get(f"/radars/{from_examples.pk}/").content.decode()

    assert learned_line(html).startswith(
        "Learned from your example papers and the papers you liked:"
    )
    assert "like your example papers and the papers you liked: +24" in reasons_on_page(html)


def test_likes_alone_keep_their_wording(alice: User) -> None:
    liked = PaperFactory.create(title=JAILBREAK[0], abstract=JAILBREAK[1], primary_category="cs.CR")
    radar = RadarFactory.create(owner=alice, description="LLM jailbreaks")
    Feedback.objects.create(user=alice, radar=radar, paper=liked, value=1)
    radar_profile_update(radar)

    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()

    assert learned_line(html).startswith("Learned from the papers you liked:")


def test_the_my_radars_reasons_say_what_each_radar_learned_from(
    alice: User, from_examples: Radar
) -> None:
    day = Match.objects.get(radar=from_examples).announced
    html = signed_in(alice).get(f"/?view=radars&date={day.isoformat()}").content.decode()

    assert "like your example papers: +24" in reasons_on_page(html)


def test_a_reader_who_does_not_own_the_radar_is_not_told_they_liked_anything(
    alice: User, bob: User, from_examples: Radar
) -> None:
    from_examples.public = True
    from_examples.save(update_fields=["public"])

    html = signed_in(bob).get(f"/topics/{from_examples.pk}/").content.decode()

    assert "like the papers this radar learned from: +24" in reasons_on_page(html)


def test_the_reason_words_each_source() -> None:
    assert reason_text("liked", "", 5, learned_from=LearnedFrom.LIKES) == (
        "like the papers you liked: +5"
    )
    assert reason_text("liked", "", 5) == "like the papers this radar learned from: +5"


def test_the_learned_words_shown_are_readable_and_few(alice: User) -> None:
    words = {
        "proteinweaver": 9.0,
        "cpd": 8.0,  # an abbreviation
        "rl": 7.0,  # too short
        "llm": 6.5,
        "2024": 6.2,
        **{f"design{n}": 6.0 - n / 10 for n in range(12)},
    }
    radar = RadarFactory.create(owner=alice, learned={"categories": {}, "words": words})

    shown = _learned(radar, LearnedFrom.EXAMPLES).words

    assert shown[0] == "proteinweaver"
    assert len(shown) == LEARNED_WORDS_SHOWN
    assert not {"cpd", "rl", "llm", "2024"} & set(shown)
    # Only the display is trimmed.
    radar.refresh_from_db()
    assert radar.learned["words"] == words
