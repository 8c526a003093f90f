"""Thumbs and stars are inline SVG icons (no emoji a font may lack), pressed ones filled;
starter topics and the radar form's sources are named in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.services import profile_for, profile_update
from feeds.models import Source
from radar.models import Feedback, Match, SavedPaper
from tests.factories import SourceFactory, arxiv_paper, make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

# Emoji and symbol glyphs that show as boxes without an emoji font.
GLYPHS = re.compile("[\u2600-\u27bf\u2b50\U0001f300-\U0001faff]")
BUTTON = re.compile(
    r"<(button|a) [^>]*class=\"(?:save|feedback)-button[^\"]*\"[^>]*>(.*?)</\1>", re.S
)


def _buttons(html: str) -> list[tuple[str, str]]:
    """(opening tag, inner HTML) of every star and thumb button on the page."""
    return [(m.group(0)[: m.group(0).index(">") + 1], m.group(2)) for m in BUTTON.finditer(html)]


def _chinese_reader(user: User, client: Client) -> None:
    profile_update(profile=profile_for(user), language="zh-hans")
    client.cookies["lang"] = "zh-hans"


def test_stars_and_thumbs_are_svg_icons_and_pressed_ones_say_so(alice: User) -> None:
    radar = make_radar(alice)
    liked = arxiv_paper(title="Liked and saved")
    other = arxiv_paper(title="Not rated")
    for paper in (liked, other):
        Match.objects.create(radar=radar, paper=paper, score=60.0, reasons=[["title", "x", 60]])
    Feedback.objects.create(user=alice, radar=radar, paper=liked, value=1)
    SavedPaper.objects.create(user=alice, paper=liked)

    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()

    buttons = _buttons(html)
    assert len(buttons) == 6  # per card: a star, a thumb up, a thumb down
    for tag, inner in buttons:
        assert not GLYPHS.search(inner), inner
        assert re.fullmatch(r'\s*<svg class="icon icon--[a-z-]+"[^>]*>.*</svg>\s*', inner, re.S)
        assert 'aria-hidden="true"' in inner and 'stroke="currentColor"' in inner
        assert 'width="1em"' in inner
        assert "aria-label=" in tag  # the label stays on the button
    pressed = [inner for tag, inner in buttons if 'aria-pressed="true"' in tag]
    assert [re.search(r"icon--([a-z-]+)", i).group(1) for i in pressed] == ["star", "thumb-up"]  # type: ignore[union-attr]
    assert not GLYPHS.search(text_of(html))


def test_a_visitors_star_and_the_empty_saved_page_have_no_glyphs(
    client: Client, alice: User
) -> None:
    arxiv_paper(title="A paper")
    visitor = client.get("/").content.decode()
    (star,) = _buttons(visitor)
    assert "icon--star" in star[1] and "Log in to save" in star[0]

    saved = signed_in(alice).get("/saved/").content.decode()
    assert "icon--star" in saved
    assert "Press the star on any paper" in text_of(saved)
    assert not GLYPHS.search(text_of(saved))


def test_the_delete_page_names_the_ratings_in_words(alice: User) -> None:
    radar = make_radar(alice)
    client = signed_in(alice)
    _chinese_reader(alice, client)

    html = client.get(f"/radars/{radar.pk}/delete/").content.decode()

    assert "“多推荐 / 少推荐”评价" in text_of(html)
    assert not GLYPHS.search(text_of(html))


def test_starter_topics_are_named_in_the_readers_language(alice: User, bob: User) -> None:
    topic = make_radar(bob, name="Diffusion models", public=True)
    own = make_radar(alice, name="Causal inference")  # private: shown as its owner typed it
    client = signed_in(alice)
    client.post(f"/topics/{topic.pk}/follow/", {"subscribed": "1"})
    assert client.get("/topics/").content.decode().count(">Diffusion models</a>") == 1
    _chinese_reader(alice, client)

    topics = client.get("/topics/").content.decode()
    page = client.get(f"/topics/{topic.pk}/").content.decode()
    radars = client.get("/radars/").content.decode()

    assert f'<a href="/topics/{topic.pk}/">扩散模型</a>' in topics
    assert "<h1>扩散模型</h1>" in page and "<title>扩散模型" in page
    assert f'href="/topics/{topic.pk}/">扩散模型</a>' in radars
    assert f'href="/radars/{own.pk}/">Causal inference</a>' in radars


def test_the_radar_forms_sources_are_named_in_the_readers_language(alice: User) -> None:
    SourceFactory.create(slug="arxiv-cs-cl", label="arXiv (cs.CL)", kind=Source.Kind.ARXIV_RSS)
    SourceFactory.create(slug="medrxiv", label="medRxiv (Medicine)", kind=Source.Kind.RSS)
    client = signed_in(alice)
    english = client.get("/radars/new/").content.decode()
    _chinese_reader(alice, client)

    chinese = client.get("/radars/new/").content.decode()

    assert 'value="arxiv-cs-cl"' in chinese and "arXiv（cs.CL 计算与语言）" in chinese
    assert "medRxiv（医学）" in chinese
    assert "arXiv (cs.CL)" in english and "medRxiv (Medicine)" in english
