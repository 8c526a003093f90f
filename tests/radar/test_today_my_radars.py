"""Today's "My radars" view: the day's papers from the reader's radars and topics, once each."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from radar.models import Match, Subscription
from tests.factories import arxiv_paper, biorxiv_paper, make_radar, signed_in
from tests.pages import card_titles, text_of

pytestmark = pytest.mark.django_db

EARLIER = date(2024, 11, 27)
LATER = date(2024, 12, 3)


def test_a_paper_caught_by_two_radars_is_listed_once_with_both_names(
    alice: User, bob: User
) -> None:
    agents = make_radar(alice, name="Agents", include="x")
    safety = make_radar(alice, name="Safety", include="x")
    topic = make_radar(bob, name="Diffusion (topic)", include="x", public=True)
    Subscription.objects.create(user=alice, radar=topic)
    private_of_bob = make_radar(bob, name="Bob only", include="x")
    both = arxiv_paper(title="Caught twice")
    single = arxiv_paper(title="From a followed topic")
    other_day = arxiv_paper(title="Another day", announced=EARLIER)
    bobs = arxiv_paper(title="Only Bob's radar")
    arxiv_paper(title="Nobody's match")
    Match.objects.create(radar=agents, paper=both, score=0.8, reasons=[["title", "agent"]])
    Match.objects.create(radar=safety, paper=both, score=1.3, reasons=[["title", "safety"]])
    Match.objects.create(radar=topic, paper=single, score=0.7)
    Match.objects.create(radar=agents, paper=other_day, score=2.0)
    Match.objects.create(radar=private_of_bob, paper=bobs, score=2.0)

    html = signed_in(alice).get("/?view=radars").content.decode()

    assert card_titles(html) == ["Caught twice", "From a followed topic"]
    card = html[html.index(f'id="paper-{both.pk}"') :]
    card = card[: card.index("</li>\n")]
    assert re.findall(r'class="radar-chip">([^<]*)</a>', card) == ["Safety", "Agents"]
    assert f'href="/radars/{safety.pk}/"' in card
    assert "title contains &#x27;safety&#x27;" in card  # the best radar's reasons
    topic_card = html[html.index(f'id="paper-{single.pk}"') :]
    assert f'href="/topics/{topic.pk}/"' in topic_card[: topic_card.index("</li>\n")]
    assert 'aria-current="page">My radars' in html
    assert "Only Bob" not in html and "Nobody" not in html


def test_the_view_follows_the_day_navigation(alice: User) -> None:
    radar = make_radar(alice, name="Agents", include="x")
    arxiv_paper(title="Today's unmatched")
    older = arxiv_paper(title="Older match", announced=EARLIER)
    Match.objects.create(radar=radar, paper=older, score=1.0)
    client = signed_in(alice)
    latest = client.get("/?view=radars").content.decode()
    assert card_titles(latest) == []
    assert "None of your radars or followed topics caught a paper in the latest announcements." in (
        text_of(latest)
    )
    assert 'href="/?view=radars&amp;date=2024-11-27"' in latest
    html = client.get("/?view=radars&date=2024-11-27").content.decode()
    assert card_titles(html) == ["Older match"]


def test_a_small_source_with_a_newer_day_does_not_hide_the_arxiv_mailing(alice: User) -> None:
    """As on the front page: each source family's latest day, not the newest calendar day."""
    radar = make_radar(alice, name="Agents", include="x")
    mailing = [arxiv_paper(title=f"arXiv match {n}") for n in range(3)]
    preprint = biorxiv_paper(title="bioRxiv match", announced=LATER)
    for n, paper in enumerate([*mailing, preprint]):
        Match.objects.create(radar=radar, paper=paper, score=2.0 - n / 10)
    html = signed_in(alice).get("/?view=radars").content.decode()
    assert card_titles(html) == ["arXiv match 0", "arXiv match 1", "arXiv match 2", "bioRxiv match"]
    assert "4 papers caught by your radars and followed topics in the latest announcements" in (
        text_of(html)
    )
    assert "Latest announcements:" in text_of(html)
    one_day = signed_in(alice).get(f"/?view=radars&date={LATER.isoformat()}").content.decode()
    assert card_titles(one_day) == ["bioRxiv match"]


def test_the_normal_list_offers_the_my_radars_tab_only_when_signed_in(
    client: Client, alice: User
) -> None:
    arxiv_paper(title="A paper")
    assert "?view=radars" not in client.get("/").content.decode()
    # A visitor asking for the view gets the normal list, not an error.
    assert card_titles(client.get("/?view=radars").content.decode()) == ["A paper"]
    html = signed_in(alice).get("/").content.decode()
    assert 'href="/?view=radars"' in html
    assert 'aria-current="page">All papers' in html
    assert card_titles(html) == ["A paper"]


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_papers_or_radars(alice: User) -> None:
    client = signed_in(alice)
    first = make_radar(alice, name="First", include="x")
    Match.objects.create(radar=first, paper=arxiv_paper(), score=1.0)
    client.get("/?view=radars")  # the first visit creates the profile
    few = _count(client, "/?view=radars")
    for i in range(5):
        radar = make_radar(alice, name=f"Radar {i}", include="x")
        for _ in range(3):
            Match.objects.create(radar=radar, paper=arxiv_paper(), score=1.0)
    # New papers: the families' latest days are read again once (arXiv's, the others'), and
    # the new papers' sightings for the source labels rendered anew.
    assert _count(client, "/?view=radars") == few + 3
    assert _count(client, "/?view=radars") == few
    # session, user, profile, newest paper id, the user's radar ids, the days' best papers,
    # their matches, the radars, the day before, saved ids, summary cards (the labels shown
    # a moment ago are reused: no sightings)
    assert few == 11


def test_a_reader_without_radars_is_told_how_to_make_one(alice: User) -> None:
    arxiv_paper(title="A paper nobody's radar caught")
    client = signed_in(alice)
    for url in ("/?view=radars", "/"):  # the first step is offered on both tabs
        html = client.get(url).content.decode()
        assert "You have no radars yet." in text_of(html), url
        assert 'href="/radars/new/"' in html
    assert "You have no radars yet." not in text_of(Client().get("/").content.decode())
    make_radar(alice, name="Agents", include="x")
    assert "You have no radars yet." not in text_of(client.get("/").content.decode())
    html = client.get("/?view=radars").content.decode()
    assert "You have no radars yet." not in text_of(html)
    assert "None of your radars or followed topics caught a paper" in text_of(html)


def test_more_caught_papers_than_a_page_load_page_by_page(alice: User) -> None:
    agents = make_radar(alice, name="Agents", include="x")
    safety = make_radar(alice, name="Safety", include="x")
    for n in range(30):
        paper = arxiv_paper(title=f"Caught paper {n:02d}")
        Match.objects.create(radar=agents, paper=paper, score=90 - n)
        if n % 2:
            Match.objects.create(radar=safety, paper=paper, score=50 - n)
    client = signed_in(alice)

    first = client.get("/?view=radars").content.decode()

    assert card_titles(first) == [f"Caught paper {n:02d}" for n in range(25)]
    assert "30 papers caught by your radars and followed topics" in text_of(first)
    load_more = re.search(r'<a class="button button--quiet" href="([^"]+)" hx-get', first)
    assert load_more and load_more.group(1) == "/?view=radars&amp;page=2"
    rest = client.get("/?view=radars&page=2", headers={"HX-Request": "true"}).content.decode()
    # Only the cards, numbered on, each paper once, and no further page.
    assert "<html" not in rest and "Load more" not in rest
    assert card_titles(rest) == [f"Caught paper {n:02d}" for n in range(25, 30)]
    assert re.findall(r'class="paper-card__number">(\d+)\.', rest) == [
        str(n) for n in range(26, 31)
    ]
