"""👎 "less like this" takes a paper out of the radar: its match goes (the feed, My radars,
briefings and the API read the matches), matching and the edit page's preview leave it out as
they leave out the radar's examples, and the thumbs say so; taking the 👎 back queues a rescore
that lets it in again. The learning from the 👎 (the profile) is unchanged."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from academichub.pipeline import papers_match
from accounts.models import Profile
from api.tokens import token_create
from feeds.models import Paper
from radar.matching import radar_rescore
from radar.models import Feedback, Match, Radar
from radar.selectors import my_radars_day
from radar.tasks import radar_profile_refresh
from radar.tasks import radar_rescore as radar_rescore_task
from tests.factories import PaperFactory, make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

DAY = date(2024, 11, 28)
DISLIKED = "Prompt injection in spreadsheets"
KEPT = "Prompt injection attacks on tool-using agents"


@pytest.fixture
def radar(alice: User) -> Radar:
    PaperFactory.create(title=DISLIKED, abstract="Prompt injection hidden in cells.", announced=DAY)
    PaperFactory.create(title=KEPT, abstract="Indirect prompt injection.", announced=DAY)
    radar = make_radar(alice, threshold=30)
    radar_rescore(radar)
    assert matched(radar) == {DISLIKED, KEPT}
    return radar


def matched(radar: Radar) -> set[str]:
    return set(Match.objects.filter(radar=radar).values_list("paper__title", flat=True))


def paper(title: str) -> Paper:
    return Paper.objects.get(title=title)


def api_titles(user: User, radar: Radar) -> set[str]:
    _token, secret = token_create(user=user, name="t")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    response = api.get(f"/api/v1/radars/{radar.pk}/matches")
    assert response.status_code == 200, response.content
    return {m["title"] for m in response.json()["matches"]}


def thumbs_down(client: Client, radar: Radar, value: str = "-1") -> str:
    url = f"/radars/{radar.pk}/feedback/{paper(DISLIKED).pk}/"
    response = client.post(url, {"value": value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_a_dislike_takes_the_paper_out_of_the_radar_and_its_undo_lets_it_back_at_the_rescore(
    alice: User, radar: Radar, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(alice)

    with django_capture_on_commit_callbacks() as callbacks:
        partial = thumbs_down(client, radar)

    # The thumbs say it left, and the pressed 👎 (sending 0) undoes it.
    assert "Hidden from this radar" in text_of(partial)
    assert re.search(r'value="0" class="feedback-button feedback-button--down"', partial)
    assert Feedback.objects.get(radar=radar, paper=paper(DISLIKED)).value == -1
    # Gone from the matches (briefings and Atom read them), the feed, My radars and the API.
    assert matched(radar) == {KEPT}
    feed = text_of(client.get(f"/radars/{radar.pk}/").content.decode())
    assert KEPT in feed and DISLIKED not in feed
    found, total = my_radars_day(user=alice, days=[DAY])
    assert [row.paper.title for row in found] == [KEPT] and total == 1
    assert api_titles(alice, radar) == {KEPT}
    # The learning from it is kept: the profile is refreshed as after any rating.
    assert len(callbacks) == 1
    # Neither the rescore of an edit nor new matching (a replacement arriving) brings it back.
    radar_rescore(radar)
    papers_match(list(Paper.objects.values_list("id", flat=True)))
    assert matched(radar) == {KEPT}

    with django_capture_on_commit_callbacks() as callbacks:
        undone = thumbs_down(client, radar, "0")

    assert "Hidden from this radar" not in undone
    assert not Feedback.objects.filter(radar=radar).exists()
    # A rescore is queued, and it lets the paper back in.
    assert len(callbacks) == 1
    radar_rescore(radar)
    assert matched(radar) == {DISLIKED, KEPT}
    assert DISLIKED in text_of(client.get(f"/radars/{radar.pk}/").content.decode())


def test_undoing_a_dislike_queues_a_rescore_other_ratings_a_profile_refresh(
    alice: User, radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[object] = []
    monkeypatch.setattr("radar.services.enqueue_on_commit", lambda task, *a: queued.append(task))
    client = signed_in(alice)

    thumbs_down(client, radar)  # 👎
    thumbs_down(client, radar, "1")  # 👍 instead: back in the radar
    thumbs_down(client, radar, "1")  # 👍 again: stays

    assert queued == [radar_profile_refresh, radar_rescore_task, radar_profile_refresh]


def test_the_hidden_paper_is_said_in_chinese(alice: User, radar: Radar) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})

    assert "已从此雷达隐藏" in text_of(thumbs_down(signed_in(alice), radar))


def test_the_edit_page_preview_leaves_the_disliked_paper_out(alice: User, radar: Radar) -> None:
    Feedback.objects.create(user=alice, radar=radar, paper=paper(DISLIKED), value=-1)
    client = signed_in(alice)
    data = {"include": '"prompt injection"', "threshold": "30"}

    editing = client.post(f"/radars/preview/?radar={radar.pk}", data).content.decode()
    new = client.post("/radars/preview/", data).content.decode()

    assert KEPT in editing and DISLIKED not in editing
    assert DISLIKED in new  # a radar not yet saved has no ratings
    # The edit page asks for its radar's preview.
    page = client.get(f"/radars/{radar.pk}/edit/").content.decode()
    assert f"/radars/preview/?radar={radar.pk}" in page


def test_another_users_radar_id_does_not_change_the_preview(
    alice: User, bob: User, radar: Radar
) -> None:
    Feedback.objects.create(user=alice, radar=radar, paper=paper(DISLIKED), value=-1)
    data = {"include": '"prompt injection"', "threshold": "30"}

    html = signed_in(bob).post(f"/radars/preview/?radar={radar.pk}", data).content.decode()

    assert DISLIKED in html


def test_a_followers_dislike_hides_the_paper_for_them_only(
    alice: User, bob: User, radar: Radar
) -> None:
    radar.public = True
    radar.save(update_fields=["public"])
    bobs = signed_in(bob)

    assert "Hidden from this radar" in text_of(thumbs_down(bobs, radar))

    # The topic keeps its match for everyone else; bob no longer sees it.
    assert matched(radar) == {DISLIKED, KEPT}
    assert DISLIKED not in text_of(bobs.get(f"/topics/{radar.pk}/").content.decode())
    assert DISLIKED in text_of(signed_in(alice).get(f"/radars/{radar.pk}/").content.decode())
    # And bob can take it back.
    thumbs_down(bobs, radar, "0")
    assert DISLIKED in text_of(bobs.get(f"/topics/{radar.pk}/").content.decode())


def test_a_paper_neither_matched_nor_rated_cannot_be_rated(alice: User, radar: Radar) -> None:
    other = PaperFactory.create(title="Pottery", announced=DAY)
    response = signed_in(alice).post(f"/radars/{radar.pk}/feedback/{other.pk}/", {"value": "0"})
    assert response.status_code == 404
