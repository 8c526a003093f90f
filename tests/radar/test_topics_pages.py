"""Topics: the directory of public radars (search, sort, counts) and following them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from radar.models import Radar, Subscription
from radar.scoring import DEFAULT_THRESHOLD
from tests.factories import make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db


def someone(name: str, **fields: object) -> User:
    """A user who never logs in here (no password hashing: quick to make)."""
    return User.objects.create(
        username=f"{name}@example.org", email=f"{name}@example.org", **fields
    )


def topic_names(html: str) -> list[str]:
    return re.findall(r'<h2 class="topic-card__name"><a href="/topics/\d+/">([^<]*)</a>', html)


@pytest.fixture
def topics(alice: User, bob: User) -> dict[str, Radar]:
    """Three public topics of bob's with 0, 1 and 2 followers, and one private radar."""
    now = timezone.now()
    diffusion = make_radar(
        bob,
        name="Diffusion models",
        description="Score-based generative models",
        public=True,
        created_at=now - timedelta(days=3),
    )
    agents = make_radar(
        bob, name="LLM agents and safety", public=True, created_at=now - timedelta(days=2)
    )
    omics = make_radar(
        bob,
        name="Single-cell omics",
        description="scRNA-seq and spatial transcriptomics",
        public=True,
        created_at=now - timedelta(days=1),
    )
    private = make_radar(bob, name="Bob's private radar")
    for user in (someone("carol"), someone("dave")):
        Subscription.objects.create(user=user, radar=agents)
    Subscription.objects.create(user=alice, radar=omics)
    return {"diffusion": diffusion, "agents": agents, "omics": omics, "private": private}


def test_the_directory_lists_public_topics_by_followers(
    client: Client, bob: User, topics: dict[str, Radar]
) -> None:
    html = client.get("/topics/").content.decode()
    # Followers count the owner (subscribed on creation) too.
    assert topic_names(html) == ["LLM agents and safety", "Single-cell omics", "Diffusion models"]
    text = text_of(html)
    assert "3 followers" in text and "2 followers" in text and "1 follower" in text
    assert "Bob's private radar" not in html
    assert bob.email not in html  # the owner is never shown by email address
    assert "by a member" in text


def test_the_directory_sorts_by_name_and_newest(client: Client, topics: dict[str, Radar]) -> None:
    by_name = topic_names(client.get("/topics/?sort=name").content.decode())
    assert by_name == ["Diffusion models", "LLM agents and safety", "Single-cell omics"]
    newest = topic_names(client.get("/topics/?sort=newest").content.decode())
    assert newest == ["Single-cell omics", "LLM agents and safety", "Diffusion models"]
    assert topic_names(client.get("/topics/?sort=bogus").content.decode())[0] == (
        "LLM agents and safety"
    )


def test_the_directory_searches_names_and_descriptions(
    client: Client, topics: dict[str, Radar]
) -> None:
    assert topic_names(client.get("/topics/?q=spatial").content.decode()) == ["Single-cell omics"]
    assert topic_names(client.get("/topics/?q=DIFFUSION").content.decode()) == ["Diffusion models"]
    html = client.get("/topics/?q=private").content.decode()
    assert topic_names(html) == [] and "No public topic matches" in text_of(html)


def test_the_owner_is_named_by_full_name_or_as_editors_for_staff(
    client: Client, bob: User, topics: dict[str, Radar]
) -> None:
    bob.first_name, bob.last_name = "Robert", "Smith"
    bob.save()
    staff = someone("editor", is_staff=True)
    make_radar(staff, name="Causal inference", public=True)
    text = text_of(client.get("/topics/").content.decode())
    assert "by Robert Smith" in text
    assert "by AcademicHub editors" in text


def test_a_signed_in_reader_sees_what_they_follow(alice: User, topics: dict[str, Radar]) -> None:
    html = signed_in(alice).get("/topics/").content.decode()
    omics = html[html.index(f'id="topic-{topics["omics"].pk}"') :]
    assert "Unfollow" in omics[: omics.index("</li>")]
    agents = html[html.index(f'id="topic-{topics["agents"].pk}"') :]
    assert '<input type="hidden" name="subscribed" value="1">' in agents[: agents.index("</li>")]


def test_a_visitor_is_offered_to_log_in_to_follow(client: Client, topics: dict[str, Radar]) -> None:
    html = client.get("/topics/").content.decode()
    assert "Log in to follow" in html and '/follow/"' not in html


def test_following_and_unfollowing_with_htmx(alice: User, topics: dict[str, Radar]) -> None:
    client = signed_in(alice)
    agents = topics["agents"]
    response = client.post(
        f"/topics/{agents.pk}/follow/", {"subscribed": "1"}, HTTP_HX_REQUEST="true"
    )
    assert Subscription.objects.filter(user=alice, radar=agents).exists()
    assert "Unfollow" in response.content.decode() and "<html" not in response.content.decode()

    response = client.post(
        f"/topics/{agents.pk}/follow/", {"subscribed": "0"}, HTTP_HX_REQUEST="true"
    )
    assert not Subscription.objects.filter(user=alice, radar=agents).exists()
    assert ">Follow</button>" in response.content.decode()


def test_following_without_javascript_redirects_back(alice: User, topics: dict[str, Radar]) -> None:
    agents = topics["agents"]
    response = signed_in(alice).post(
        f"/topics/{agents.pk}/follow/", {"subscribed": "1", "next": "/topics/?q=llm"}
    )
    assert response.status_code == 302 and response["Location"] == "/topics/?q=llm"
    assert Subscription.objects.filter(user=alice, radar=agents).exists()


def test_a_followed_topic_appears_beside_my_radars(alice: User, topics: dict[str, Radar]) -> None:
    client = signed_in(alice)
    client.post(f"/topics/{topics['diffusion'].pk}/follow/", {"subscribed": "1"})
    html = client.get("/radars/").content.decode()
    assert "Diffusion models" in html and "Single-cell omics" in html
    assert "LLM agents and safety" not in html


def test_a_private_radar_cannot_be_followed(alice: User, topics: dict[str, Radar]) -> None:
    private = topics["private"]
    response = signed_in(alice).post(f"/topics/{private.pk}/follow/", {"subscribed": "1"})
    assert response.status_code == 404
    assert not Subscription.objects.filter(user=alice, radar=private).exists()


def test_following_needs_an_account_a_post_and_the_csrf_token(
    client: Client, alice: User, topics: dict[str, Radar]
) -> None:
    url = f"/topics/{topics['agents'].pk}/follow/"
    response = client.post(url, {"subscribed": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert signed_in(alice).get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url, {"subscribed": "1"}).status_code == 403
    assert signed_in(alice).post(url, {"subscribed": "maybe"}).status_code == 400
    assert not Subscription.objects.filter(user=alice, radar=topics["agents"]).exists()


def test_a_topic_made_private_drops_out_and_its_followers_lose_it(
    alice: User, bob: User, topics: dict[str, Radar]
) -> None:
    omics = topics["omics"]
    signed_in(bob).post(
        f"/radars/{omics.pk}/edit/",
        {
            "name": omics.name,
            "description": omics.description,
            "threshold": f"{DEFAULT_THRESHOLD:g}",
        },
    )
    client = signed_in(alice)
    assert "Single-cell omics" not in client.get("/topics/").content.decode()
    assert client.get(f"/topics/{omics.pk}/").status_code == 404
    assert not Subscription.objects.filter(user=alice, radar=omics).exists()


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed", [False, True])
def test_the_directory_query_count_does_not_grow_with_the_topics(
    client: Client, alice: User, signed: bool
) -> None:
    if signed:
        client.force_login(alice)
        client.get("/topics/")  # the first visit creates the profile
    owners = [someone(f"owner{i}") for i in range(3)]
    for i, owner in enumerate(owners):
        make_radar(owner, name=f"Topic {i}", public=True)
    few = _count(client, "/topics/")
    for i in range(12):
        topic = make_radar(someone(f"more{i}"), name=f"More {i}", public=True)
        if signed and i % 2:
            Subscription.objects.create(user=alice, radar=topic)
    assert _count(client, "/topics/") == few
    # topics (owners joined, followers counted) + which of them the reader follows
    assert few == (5 if signed else 1)
