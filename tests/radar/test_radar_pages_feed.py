"""A radar's feed: ranked matches by day, "new" until shown, 👍/👎, why, load more."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Profile
from feeds.models import Paper
from radar import views
from radar.models import Feedback, Match, Radar, SavedPaper, SeenPaper
from radar.scoring import W_AUTHOR, W_TITLE
from tests.factories import PaperFactory, arxiv_paper, make_radar, signed_in
from tests.pages import card_titles, text_of

pytestmark = pytest.mark.django_db

DAY = date(2024, 11, 28)
EARLIER = date(2024, 11, 27)


def match(
    radar: Radar, paper: Paper, score: float, reasons: list[list[object]] | None = None
) -> Match:
    return Match.objects.create(
        radar=radar, paper=paper, score=score, reasons=reasons or [["title", "prompt injection"]]
    )


@pytest.fixture
def radar(alice: User) -> Radar:
    return make_radar(alice, threshold=30)


@pytest.fixture
def papers(radar: Radar) -> list[Paper]:
    """Two papers on the latest day and one the day before, matched with different scores."""
    low = arxiv_paper(title="Low score today", announced=DAY)
    high = arxiv_paper(title="High score today", announced=DAY, authors=["Jane Doe"])
    old = arxiv_paper(title="Yesterday's match", announced=EARLIER)
    match(radar, low, 45.0)
    match(
        radar,
        high,
        W_TITLE + W_AUTHOR,
        [["title", "prompt injection", W_TITLE], ["author", "Jane Doe", W_AUTHOR]],
    )
    match(radar, old, 90.0)
    return [high, low, old]


# --- what the owner sees --------------------------------------------------------------------


def test_the_feed_ranks_newest_day_first_then_best_first(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    assert card_titles(html) == ["High score today", "Low score today", "Yesterday&#x27;s match"]
    headings = re.findall(r'<li class="day-heading"><h2><time datetime="([^"]+)"', html)
    assert headings == ["2024-11-28", "2024-11-27"]


def test_the_feed_explains_why_each_paper_matched(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    card = html[html.index(f'id="paper-{papers[0].pk}"') :]
    card = card[: card.index("</li>\n")]
    assert "Why this paper?" in card
    # Each reason with the points it added, and the score as their sum.
    assert f"title contains &#x27;prompt injection&#x27;: +{W_TITLE:.0f}" in card
    assert f"follows author Jane Doe: +{W_AUTHOR:.0f}" in card
    assert (
        f"Score {W_TITLE + W_AUTHOR:.0f} of 100, the sum of the parts above"
        " · this radar shows papers from 30"
    ) in text_of(card)
    alice.profile.language = "zh-hans"
    alice.profile.save()
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    card = html[html.index(f'id="paper-{papers[0].pk}"') :]
    card = card[: card.index("</li>\n")]
    assert (
        f"得分 {W_TITLE + W_AUTHOR:.0f}（满分 100），即以上各项之和 · 此雷达显示得分不低于 30 的论文"
    ) in text_of(card)


def test_unseen_papers_are_marked_new_once_then_remembered_as_seen(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    SeenPaper.objects.create(user=alice, paper=papers[1])
    client = signed_in(alice)
    html = client.get(f"/radars/{radar.pk}/").content.decode()
    new_cards = re.findall(r'class="paper-card match-card match-card--new" id="paper-(\d+)"', html)
    assert sorted(map(int, new_cards)) == sorted([papers[0].pk, papers[2].pk])
    assert set(SeenPaper.objects.filter(user=alice).values_list("paper_id", flat=True)) == {
        p.pk for p in papers
    }
    again = client.get(f"/radars/{radar.pk}/").content.decode()
    assert "match-card--new" not in again


@pytest.mark.parametrize(("language", "word"), [("en", "unread"), ("zh-hans", "未读")])
def test_an_unseen_paper_is_badged_unread_not_new(
    alice: User, radar: Radar, papers: list[Paper], language: str, word: str
) -> None:
    # "new" is the announcement type on the front page; unseen is said otherwise here.
    Profile.objects.update_or_create(user=alice, defaults={"language": language})
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    badges = re.findall(r'<span class="badge badge--unseen">(.*?)</span>', html)
    assert badges == [word] * 3


def test_the_owner_sees_the_edit_link_and_the_atom_switch(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    assert f'href="/radars/{radar.pk}/edit/"' in html
    assert f'action="/radars/{radar.pk}/feed-token/"' in html


def test_saved_papers_show_a_filled_star(alice: User, radar: Radar, papers: list[Paper]) -> None:
    SavedPaper.objects.create(user=alice, paper=papers[0])
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    stars = re.findall(r'id="paper-(\d+)".*?class="save-button" aria-pressed="(\w+)"', html, re.S)
    assert dict(stars)[str(papers[0].pk)] == "true"
    assert dict(stars)[str(papers[1].pk)] == "false"


def test_an_empty_feed_says_what_happens_next(alice: User, radar: Radar) -> None:
    client = signed_in(alice)
    # Saved a moment ago, not scored yet: the page says it is looking and asks again itself.
    html = client.get(f"/radars/{radar.pk}/").content.decode()
    assert "Looking for this radar's papers" in text_of(html)
    assert 'hx-trigger="every 3s"' in html
    # Scored a minute ago and nothing found: the final word, and no more asking.
    Radar.objects.filter(pk=radar.pk).update(
        profile_updated_at=timezone.now() - timedelta(minutes=1)
    )
    html = client.get(f"/radars/{radar.pk}/").content.decode()
    assert "No matches yet." in text_of(html)
    assert 'hx-trigger="every 3s"' not in html
    # Never scored (no worker) but saved long ago: it does not ask forever either.
    Radar.objects.filter(pk=radar.pk).update(
        profile_updated_at=None, updated_at=timezone.now() - timedelta(hours=1)
    )
    html = client.get(f"/radars/{radar.pk}/").content.decode()
    assert "No matches yet." in text_of(html)
    assert 'hx-trigger="every 3s"' not in html


# --- others ---------------------------------------------------------------------------------


def test_another_user_gets_404_for_a_private_radar_and_nothing_is_marked(
    bob: User, radar: Radar, papers: list[Paper]
) -> None:
    assert signed_in(bob).get(f"/radars/{radar.pk}/").status_code == 404
    assert signed_in(bob).get(f"/topics/{radar.pk}/").status_code == 404
    assert not SeenPaper.objects.filter(user=bob).exists()


def test_a_visitor_gets_404_for_a_private_radar(client: Client, radar: Radar) -> None:
    assert client.get(f"/radars/{radar.pk}/").status_code == 404


def test_a_public_topic_is_readable_by_anyone_without_owner_controls(
    client: Client, bob: User, radar: Radar, papers: list[Paper]
) -> None:
    radar.public = True
    radar.save()
    html = client.get(f"/topics/{radar.pk}/").content.decode()
    assert card_titles(html)[0] == "High score today"
    assert "feed-token" not in html and f"/radars/{radar.pk}/edit/" not in html
    assert "feedback-form" not in html  # rating needs an account
    assert "Log in to follow" in html
    assert "match-card--new" not in html

    html = signed_in(bob).get(f"/radars/{radar.pk}/").content.decode()
    assert "feedback-form" in html and "feed-token" not in html
    assert f'action="/topics/{radar.pk}/follow/"' in html


# --- 👍 / 👎 --------------------------------------------------------------------------------


def test_thumbs_up_then_pressing_it_again_clears_it(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    client = signed_in(alice)
    paper = papers[1]
    url = f"/radars/{radar.pk}/feedback/{paper.pk}/"
    html = client.get(f"/radars/{radar.pk}/").content.decode()
    assert f'action="{url}"' in html

    response = client.post(url, {"value": "1"}, HTTP_HX_REQUEST="true")
    partial = response.content.decode()
    assert Feedback.objects.get(user=alice, radar=radar, paper=paper).value == 1
    # The pressed 👍 now sends 0: pressing it again clears the rating.
    assert re.search(
        r'name="value" value="0" class="feedback-button feedback-button--up" '
        r'aria-pressed="true"',
        partial,
    )
    assert "<html" not in partial

    client.post(url, {"value": "-1"}, HTTP_HX_REQUEST="true")
    assert Feedback.objects.get(user=alice, radar=radar, paper=paper).value == -1

    client.post(url, {"value": "0"}, HTTP_HX_REQUEST="true")
    assert not Feedback.objects.filter(user=alice, radar=radar, paper=paper).exists()


def test_the_feed_shows_the_rating_state(alice: User, radar: Radar, papers: list[Paper]) -> None:
    Feedback.objects.create(user=alice, radar=radar, paper=papers[2], value=-1)
    html = signed_in(alice).get(f"/radars/{radar.pk}/").content.decode()
    card = html[html.index(f'id="paper-{papers[2].pk}"') :]
    assert re.search(r'feedback-button--down" aria-pressed="true"', card[: card.index("</li>")])


def test_feedback_without_javascript_redirects_back(
    alice: User, radar: Radar, papers: list[Paper]
) -> None:
    response = signed_in(alice).post(
        f"/radars/{radar.pk}/feedback/{papers[0].pk}/",
        {"value": "1", "next": f"/radars/{radar.pk}/?page=1"},
    )
    assert response.status_code == 302 and response["Location"] == f"/radars/{radar.pk}/?page=1"
    assert Feedback.objects.filter(user=alice, paper=papers[0], value=1).exists()


def test_feedback_never_redirects_off_site(alice: User, radar: Radar, papers: list[Paper]) -> None:
    response = signed_in(alice).post(
        f"/radars/{radar.pk}/feedback/{papers[0].pk}/",
        {"value": "1", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/radars/{radar.pk}/"


def test_feedback_on_a_paper_the_radar_did_not_match_is_404(alice: User, radar: Radar) -> None:
    stranger = PaperFactory.create()
    response = signed_in(alice).post(f"/radars/{radar.pk}/feedback/{stranger.pk}/", {"value": "1"})
    assert response.status_code == 404
    assert not Feedback.objects.exists()


def test_feedback_is_404_for_another_user_on_a_private_radar_and_changes_nothing(
    bob: User, radar: Radar, papers: list[Paper]
) -> None:
    response = signed_in(bob).post(f"/radars/{radar.pk}/feedback/{papers[0].pk}/", {"value": "1"})
    assert response.status_code == 404
    assert not Feedback.objects.exists()


def test_feedback_needs_an_account_a_post_and_the_csrf_token(
    client: Client, alice: User, radar: Radar, papers: list[Paper]
) -> None:
    url = f"/radars/{radar.pk}/feedback/{papers[0].pk}/"
    assert client.post(url, {"value": "1"}).status_code == 302
    assert signed_in(alice).get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url, {"value": "1"}).status_code == 403
    assert signed_in(alice).post(url, {"value": "5"}).status_code == 400
    assert not Feedback.objects.exists()


# --- load more and query counts -------------------------------------------------------------


def _many_matches(radar: Radar, n: int) -> None:
    for i in range(n):
        paper = arxiv_paper(title=f"Match {i:03d}", announced=DAY if i < n // 2 else EARLIER)
        match(radar, paper, 2.0 - i / 100)


def test_load_more_continues_with_and_without_htmx(
    alice: User, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "FEED_PAGE_SIZE", 4)
    _many_matches(radar, 10)  # five today, five yesterday
    client = signed_in(alice)
    first = client.get(f"/radars/{radar.pk}/").content.decode()
    assert card_titles(first) == ["Match 000", "Match 001", "Match 002", "Match 003"]
    assert f'hx-get="/radars/{radar.pk}/?page=2"' in first
    assert f'href="/radars/{radar.pk}/?page=2"' in first

    more = client.get(f"/radars/{radar.pk}/?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in more
    assert card_titles(more) == ["Match 004", "Match 005", "Match 006", "Match 007"]
    # Match 004 continues the first page's day: a heading only where the day changes.
    headings = re.findall(r'<li class="day-heading"><h2><time datetime="([^"]+)"', more)
    assert headings == ["2024-11-27"]
    assert more.index("2024-11-27") < more.index("Match 005")

    plain = client.get(f"/radars/{radar.pk}/?page=3").content.decode()
    assert "<html" in plain and card_titles(plain) == ["Match 008", "Match 009"]
    assert "Back to the newest papers" in plain
    assert "load-more" not in plain


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_feed_query_count_does_not_grow_with_the_matches(alice: User, radar: Radar) -> None:
    client = signed_in(alice)
    _many_matches(radar, 3)
    client.get(f"/radars/{radar.pk}/")  # the first visit creates the profile
    few = _count(client, f"/radars/{radar.pk}/")
    _many_matches(radar, 20)
    # New papers: their source labels are rendered anew (their sightings, in one query) and
    # they are marked seen (one insert).
    assert _count(client, f"/radars/{radar.pk}/") == few + 2
    many = _count(client, f"/radars/{radar.pk}/")
    assert few == many
    # session, user, profile, radar, matches, saved ids, subscription, summary cards (the
    # labels shown a moment ago are reused: no sightings; every paper was seen: no insert)
    assert many == 8


def test_a_public_topics_query_count_is_fixed_for_visitors(client: Client, radar: Radar) -> None:
    radar.public = True
    radar.save()
    _many_matches(radar, 3)
    few = _count(client, f"/topics/{radar.pk}/")
    _many_matches(radar, 20)
    assert _count(client, f"/topics/{radar.pk}/") == few
