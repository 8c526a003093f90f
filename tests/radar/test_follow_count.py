"""Following a topic answers with its new follower count out of band, where the page shows the
count beside the button (the directory, the topic's page), in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.services import profile_for
from radar.models import Radar, Subscription
from tests.factories import make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def topic(bob: User) -> Radar:
    """Bob's public topic, followed by bob alone."""
    return make_radar(bob, name="Diffusion models", public=True)


def count_element(html: str, topic: Radar) -> str:
    """The follower count element of `topic` (its opening tag and its text)."""
    found = re.search(rf'(<span [^>]*id="topic-{topic.pk}-followers"[^>]*>)(.*?)</span>', html)
    assert found, "no follower count of the topic"
    return found.group(1) + " " + text_of(found.group(2))


def follow(client: Client, topic: Radar, subscribed: str) -> str:
    data = {"subscribed": subscribed, "followers_shown": "1"}
    url = f"/topics/{topic.pk}/follow/"
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.parametrize("page", ["/topics/", "/topics/{pk}/"])
def test_the_pages_show_the_count_beside_a_button_that_brings_it_back(
    alice: User, topic: Radar, page: str
) -> None:
    html = signed_in(alice).get(page.format(pk=topic.pk)).content.decode()

    assert count_element(html, topic).endswith(" 1 follower")
    assert '<input type="hidden" name="followers_shown" value="1">' in html


def test_following_answers_with_the_new_count_in_the_plural(alice: User, topic: Radar) -> None:
    client = signed_in(alice)

    html = follow(client, topic, "1")

    assert "Unfollow" in html
    element = count_element(html, topic)
    assert 'hx-swap-oob="true"' in element and element.endswith(" 2 followers")
    # The new button still asks for the count, for the next press.
    assert '<input type="hidden" name="followers_shown" value="1">' in html
    assert count_element(follow(client, topic, "0"), topic).endswith(" 1 follower")
    assert Subscription.objects.filter(radar=topic).count() == 1


def test_the_count_is_in_chinese_for_a_chinese_reader(alice: User, topic: Radar) -> None:
    profile = profile_for(alice)
    profile.language = "zh-hans"
    profile.save()
    client = signed_in(alice)

    assert count_element(follow(client, topic, "1"), topic).endswith(" 2 位关注者")
    assert count_element(follow(client, topic, "0"), topic).endswith(" 1 位关注者")
    page = text_of(client.get(f"/topics/{topic.pk}/").content.decode())
    assert "的公开主题 · 1 位关注者" in page
    assert "来自 " in text_of(client.get("/topics/").content.decode())


def test_a_page_without_the_count_gets_the_button_alone(alice: User, topic: Radar) -> None:
    # My radars lists followed topics with their button and no count: nothing out of band,
    # which htmx would report as a swap without a target.
    Subscription.objects.create(user=alice, radar=topic)
    assert "followers_shown" not in signed_in(alice).get("/radars/").content.decode()

    html = signed_in(alice).post(
        f"/topics/{topic.pk}/follow/", {"subscribed": "0"}, HTTP_HX_REQUEST="true"
    )
    assert "hx-swap-oob" not in html.content.decode()
    assert ">Follow</button>" in html.content.decode()


def test_another_users_private_radar_stays_unfollowed_and_uncounted(alice: User, bob: User) -> None:
    private = make_radar(bob, name="Bob's private radar")

    response = signed_in(alice).post(
        f"/topics/{private.pk}/follow/",
        {"subscribed": "1", "followers_shown": "1"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 404
    assert "follower" not in response.content.decode()
    assert not Subscription.objects.filter(user=alice, radar=private).exists()
