"""My radars: the list, create / edit / delete through the form, the live preview, the Atom switch."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from feeds.models import Paper
from radar.models import Match, Radar, SeenPaper, Subscription
from radar.scoring import DEFAULT_THRESHOLD, W_AUTHOR, W_TITLE
from tests.factories import PaperFactory, SourceFactory, make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db


def form_data(**fields: Any) -> dict[str, Any]:
    """What the create / edit form posts, with sensible defaults."""
    data = {
        "name": "LLM safety",
        "description": "",
        "include": '"prompt injection" OR jailbreak NOT survey',
        "exclude": "",
        "categories": "",
        "authors": "",
        "examples": "",
        "threshold": f"{DEFAULT_THRESHOLD:g}",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# --- the list -------------------------------------------------------------------------------


def test_my_radars_lists_own_radars_with_counts_and_followed_topics(alice: User, bob: User) -> None:
    mine = make_radar(alice, name="Agents")
    make_radar(alice, name="Quiet radar")
    make_radar(bob, name="Bob's secret radar")
    topic = make_radar(bob, name="Diffusion models", public=True)
    Subscription.objects.create(user=alice, radar=topic)
    # "New" counts unseen matches of recent days only.
    recent = timezone.localdate()
    seen, unseen = PaperFactory.create(announced=recent), PaperFactory.create(announced=recent)
    Match.objects.create(radar=mine, paper=seen, score=50.0)
    Match.objects.create(radar=mine, paper=unseen, score=45.0)
    SeenPaper.objects.create(user=alice, paper=seen)

    html = signed_in(alice).get("/radars/").content.decode()
    text = text_of(html)

    assert "Agents" in text and "Quiet radar" in text
    assert "2 matches · 1 new" in text
    assert "0 matches" in text
    assert "Bob's secret radar" not in html
    assert "Diffusion models" in text and f'href="/topics/{topic.pk}/"' in html
    assert f'action="/topics/{topic.pk}/follow/"' in html and "Unfollow" in text
    assert f'href="/radars/{mine.pk}/edit/"' in html
    assert f'href="/radars/{mine.pk}/delete/"' in html


def test_my_radars_asks_a_visitor_to_log_in(client: Client) -> None:
    response = client.get("/radars/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- create ---------------------------------------------------------------------------------


def test_the_new_radar_form_explains_the_query_syntax(alice: User) -> None:
    SourceFactory.create(slug="arxiv-cs-cl", label="arXiv (cs.CL)")
    html = signed_in(alice).get("/radars/new/").content.decode()
    text = text_of(html)
    assert '"prompt injection" OR jailbreak NOT survey reads as' in text
    assert '"prompt injection" OR (jailbreak AND NOT survey)' in text
    assert "arXiv (cs.CL)" in text and 'value="arxiv-cs-cl"' in html
    assert 'hx-post="/radars/preview/"' in html
    assert 'name="_preview"' in html  # the preview works without JavaScript too


def test_creating_a_radar_saves_it_subscribes_the_owner_and_opens_its_feed(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    SourceFactory.create(slug="arxiv-cs-cl", label="arXiv (cs.CL)")
    client = signed_in(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/radars/new/",
            form_data(
                description="Attacks on language model agents",
                exclude="survey\nbenchmark",
                categories="cs.CL, cs.CR",
                sources=["arxiv-cs-cl"],
                authors="Jane Doe\nJohn Roe",
                examples="https://arxiv.org/abs/2411.01234v2\n10.1101/ABC",
                threshold="55",
                public="on",
            ),
        )
    radar = Radar.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == f"/radars/{radar.pk}/"
    assert radar.name == "LLM safety"
    assert radar.include == '"prompt injection" OR jailbreak NOT survey'
    assert radar.exclude == ["survey", "benchmark"]
    assert radar.categories == ["cs.CL", "cs.CR"]
    assert radar.sources == ["arxiv-cs-cl"]
    assert radar.authors == ["Jane Doe", "John Roe"]
    assert radar.examples == ["2411.01234", "10.1101/abc"]
    assert radar.threshold == 55.0 and radar.public
    assert Subscription.objects.filter(user=alice, radar=radar).exists()
    assert len(callbacks) == 1  # the recent window is rescored once the radar is committed


def test_a_query_that_does_not_parse_is_refused_with_the_services_message(alice: User) -> None:
    response = signed_in(alice).post("/radars/new/", form_data(include='"prompt injection'))
    text = text_of(response.content.decode())
    assert response.status_code == 200
    assert "Include query:" in text
    assert not Radar.objects.exists()
    assert 'value="&quot;prompt injection"' in response.content.decode()  # kept for fixing


def test_an_empty_radar_is_refused_in_plain_words(alice: User) -> None:
    response = signed_in(alice).post("/radars/new/", form_data(name="", include=""))
    text = text_of(response.content.decode())
    assert "A radar needs a name." in text
    assert not Radar.objects.exists()
    for threshold in ("0.5", "96"):
        response = signed_in(alice).post("/radars/new/", form_data(threshold=threshold))
        text = text_of(response.content.decode())
        assert "The minimum score is between 5 and 95." in text
    response = signed_in(alice).post("/radars/new/", form_data(threshold="high"))
    assert "The minimum score is a number." in text_of(response.content.decode())
    assert not Radar.objects.exists()


def test_the_form_pages_ask_a_visitor_to_log_in_and_save_nothing(client: Client) -> None:
    assert client.get("/radars/new/").status_code == 302
    assert client.post("/radars/new/", form_data()).status_code == 302
    assert client.post("/radars/preview/", form_data()).status_code == 302
    assert not Radar.objects.exists()


def test_writes_need_the_csrf_token(alice: User) -> None:
    radar = make_radar(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/radars/new/", form_data(name="Sneaky")).status_code == 403
    assert client.post(f"/radars/{radar.pk}/edit/", form_data(name="Sneaky")).status_code == 403
    assert client.post(f"/radars/{radar.pk}/delete/").status_code == 403
    assert client.post(f"/radars/{radar.pk}/feed-token/", {"action": "on"}).status_code == 403
    assert client.post("/radars/preview/", form_data()).status_code == 403
    radar.refresh_from_db()
    assert radar.name == "Prompt injection" and radar.feed_token is None
    assert Radar.objects.count() == 1


# --- edit -----------------------------------------------------------------------------------


def test_the_edit_form_shows_the_radar_and_saves_changes(alice: User) -> None:
    radar = make_radar(
        alice, exclude=["survey"], authors=["Jane Doe"], categories=["cs.CL", "cancer biology"]
    )
    client = signed_in(alice)
    html = client.get(f"/radars/{radar.pk}/edit/").content.decode()
    assert 'value="Prompt injection"' in html
    assert re.search(r">\s*survey</textarea>", html)
    assert re.search(r">\s*Jane Doe</textarea>", html)
    assert 'value="cs.CL, cancer biology"' in html

    response = client.post(
        f"/radars/{radar.pk}/edit/",
        form_data(name="Renamed", include="jailbreak", categories="cs.CL, cancer biology"),
    )
    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.name == "Renamed" and radar.include == "jailbreak"
    assert radar.categories == ["cs.CL", "cancer biology"]
    assert radar.exclude == [] and radar.authors == []


def test_another_user_cannot_see_or_change_a_radar(alice: User, bob: User) -> None:
    radar = make_radar(alice)
    client = signed_in(bob)
    assert client.get(f"/radars/{radar.pk}/edit/").status_code == 404
    assert client.post(f"/radars/{radar.pk}/edit/", form_data(name="Bob's")).status_code == 404
    assert client.get(f"/radars/{radar.pk}/delete/").status_code == 404
    assert client.post(f"/radars/{radar.pk}/delete/").status_code == 404
    assert client.post(f"/radars/{radar.pk}/feed-token/", {"action": "on"}).status_code == 404
    radar.refresh_from_db()
    assert radar.name == "Prompt injection" and radar.feed_token is None


def test_a_visitor_cannot_edit_delete_or_publish_a_feed(client: Client, alice: User) -> None:
    radar = make_radar(alice)
    for url in (f"/radars/{radar.pk}/edit/", f"/radars/{radar.pk}/delete/"):
        assert client.get(url).status_code == 302
        assert client.post(url, form_data(name="Visitor")).status_code == 302
    assert client.post(f"/radars/{radar.pk}/feed-token/", {"action": "on"}).status_code == 302
    radar.refresh_from_db()
    assert radar.name == "Prompt injection" and radar.feed_token is None


# --- delete ---------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes_on_post(alice: User, bob: User) -> None:
    radar = make_radar(alice, public=True)
    Subscription.objects.create(user=bob, radar=radar)
    client = signed_in(alice)
    page = client.get(f"/radars/{radar.pk}/delete/")
    text = text_of(page.content.decode())
    assert "Delete the radar Prompt injection?" in text
    assert "1 person follows this topic" in text
    assert Radar.objects.filter(pk=radar.pk).exists()

    response = client.post(f"/radars/{radar.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/radars/"
    assert not Radar.objects.filter(pk=radar.pk).exists()
    assert not Subscription.objects.filter(radar_id=radar.pk).exists()


# --- live preview ---------------------------------------------------------------------------


@pytest.fixture
def recent_papers() -> list[Paper]:
    day = date(2024, 11, 28)
    return [
        PaperFactory.create(
            title="Prompt injection attacks on tool-using agents",
            abstract="We study indirect prompt injection.",
            authors=["Jane Doe"],
            announced=day,
        ),
        PaperFactory.create(
            title="A survey of jailbreaks",
            abstract="A survey of jailbreak attacks.",
            announced=day,
        ),
        PaperFactory.create(title="Protein folding", abstract="Nothing to see.", announced=day),
    ]


def preview_items(html: str) -> list[str]:
    return re.findall(r'class="preview-item__title tex" href="[^"]*">([^<]*)</a>', html)


def test_the_preview_shows_matches_with_their_reasons(
    alice: User, recent_papers: list[Paper]
) -> None:
    response = signed_in(alice).post(
        "/radars/preview/",
        {
            "include": '"prompt injection" OR jailbreak NOT survey',
            "threshold": f"{DEFAULT_THRESHOLD:g}",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a partial
    assert preview_items(html) == ["Prompt injection attacks on tool-using agents"]
    assert f"title contains &#x27;prompt injection&#x27;: +{W_TITLE:.0f}" in html
    assert not Radar.objects.exists()  # nothing stored


def test_the_preview_finds_followed_authors(alice: User, recent_papers: list[Paper]) -> None:
    html = (
        signed_in(alice)
        .post("/radars/preview/", {"authors": "Jane Doe", "threshold": f"{DEFAULT_THRESHOLD:g}"})
        .content.decode()
    )
    assert preview_items(html) == ["Prompt injection attacks on tool-using agents"]
    assert f"follows author Jane Doe: +{W_AUTHOR:.0f}" in html


def test_the_preview_says_what_is_wrong_with_the_query(
    alice: User, recent_papers: list[Paper]
) -> None:
    html = signed_in(alice).post("/radars/preview/", {"include": "(jailbreak"}).content.decode()
    assert 'role="alert"' in html and "Include query:" in html
    assert preview_items(html) == []


def test_the_preview_invites_typing_when_the_form_is_empty(alice: User) -> None:
    html = signed_in(alice).post("/radars/preview/", {"name": "Draft"}).content.decode()
    assert "appear here" in html


def test_the_preview_button_works_without_javascript_and_saves_nothing(
    alice: User, recent_papers: list[Paper]
) -> None:
    response = signed_in(alice).post(
        "/radars/new/", form_data(include="jailbreak", _preview="1", name="")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert preview_items(html) == ["A survey of jailbreaks"]
    assert 'value="jailbreak"' in html  # the form keeps what was typed
    assert not Radar.objects.exists()


def test_the_preview_is_post_only(alice: User) -> None:
    assert signed_in(alice).get("/radars/preview/").status_code == 405


# --- the Atom feed switch -------------------------------------------------------------------


def test_the_owner_turns_the_atom_feed_on_rotates_it_and_turns_it_off(alice: User) -> None:
    radar = make_radar(alice)
    client = signed_in(alice)
    html = client.get(f"/radars/{radar.pk}/edit/").content.decode()
    assert "Turn on the Atom feed" in html

    response = client.post(
        f"/radars/{radar.pk}/feed-token/", {"action": "on"}, HTTP_HX_REQUEST="true"
    )
    radar.refresh_from_db()
    first = radar.feed_token
    assert first
    assert f"http://testserver/radars/feed/{first}.atom" in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    client.post(f"/radars/{radar.pk}/feed-token/", {"action": "rotate"})
    radar.refresh_from_db()
    assert radar.feed_token and radar.feed_token != first
    assert (
        f"/radars/feed/{radar.feed_token}.atom"
        in client.get(f"/radars/{radar.pk}/").content.decode()
    )

    response = client.post(f"/radars/{radar.pk}/feed-token/", {"action": "off"})
    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.feed_token is None


def test_the_feed_switch_refuses_unknown_actions(alice: User) -> None:
    radar = make_radar(alice)
    response = signed_in(alice).post(f"/radars/{radar.pk}/feed-token/", {"action": "explode"})
    assert response.status_code == 400
    radar.refresh_from_db()
    assert radar.feed_token is None


def test_an_overlong_category_is_a_form_error_not_a_server_error(alice: User) -> None:
    client = signed_in(alice)
    response = client.post("/radars/new/", form_data(categories="c" * 81))
    assert response.status_code == 200
    assert "Each entry is at most 80 characters." in response.content.decode()
    assert not Radar.objects.filter(owner=alice).exists()
