"""The topics endpoints: the public directory, subscribing and unsubscribing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.tokens import token_create
from radar.models import Radar, Subscription
from tests.api.conftest import bearer
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_client(bob: Any) -> Client:
    _, secret = token_create(user=bob, name="bob's script")
    return Client(headers=bearer(secret))


def topic(owner: Any, name: str, *, public: bool = True, followers: int = 0, **kw: Any) -> Radar:
    radar = Radar.objects.create(owner=owner, name=name, public=public, **kw)
    for n in range(followers):
        Subscription.objects.create(user=make_user(f"{name[:8]}-{n}@example.org"), radar=radar)
    return radar


def listed(response: Any) -> list[tuple[str, int, bool]]:
    assert response.status_code == 200, response.content
    return [(t["name"], t["subscriber_count"], t["subscribed"]) for t in response.json()["topics"]]


def test_it_lists_public_topics_by_subscribers_with_my_subscriptions(
    alice: Any, bob: Any, bob_client: Client
) -> None:
    agents = topic(alice, "LLM agents", followers=3, description="Agents that use tools")
    quantum = topic(alice, "Quantum information", followers=1)
    topic(alice, "Alice's private radar", public=False, followers=5)
    Subscription.objects.create(user=bob, radar=quantum)

    response = bob_client.get("/api/v1/topics")

    assert listed(response) == [("LLM agents", 3, False), ("Quantum information", 2, True)]
    first = response.json()["topics"][0]
    assert (first["id"], first["description"], first["public"]) == (
        agents.pk,
        "Agents that use tools",
        True,
    )
    assert "feed_token" not in first and "profile" not in first and "owner" not in first
    body = response.json()
    assert (body["count_on_page"], body["page"], body["next_page"]) == (2, 1, None)


def test_it_searches_names_and_descriptions_and_sorts_by_name(
    alice: Any, api_client: Client
) -> None:
    topic(alice, "Diffusion models", description="Image generation with denoising")
    topic(alice, "Causal inference", description="Treatment effects")
    topic(alice, "Single-cell omics", description="Cell atlases and denoising of counts")

    assert [n for n, _, _ in listed(api_client.get("/api/v1/topics", {"q": "denoising"}))] == [
        "Diffusion models",
        "Single-cell omics",
    ]
    assert [n for n, _, _ in listed(api_client.get("/api/v1/topics", {"q": "CAUSAL"}))] == [
        "Causal inference"
    ]
    assert [n for n, _, _ in listed(api_client.get("/api/v1/topics", {"sort": "name"}))] == [
        "Causal inference",
        "Diffusion models",
        "Single-cell omics",
    ]
    assert api_client.get("/api/v1/topics", {"sort": "random"}).status_code == 422


def test_the_directory_takes_a_fixed_number_of_queries(alice: Any, api_client: Client) -> None:
    for n in range(12):
        topic(alice, f"Topic {n:02d}", followers=1)

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/topics")

    assert len(response.json()["topics"]) == 12
    # token, touch of last_used_at, the page of topics, my subscriptions among them.
    assert len(queries) <= 4, [q["sql"] for q in queries.captured_queries]


def test_subscribe_and_unsubscribe_a_public_topic(alice: Any, bob: Any, bob_client: Client) -> None:
    agents = topic(alice, "LLM agents")
    url = f"/api/v1/topics/{agents.pk}/subscribe"

    subscribed = bob_client.post(url)
    again = bob_client.post(url)

    assert subscribed.json() == {"id": agents.pk, "subscribed": True, "subscriber_count": 1}
    assert again.status_code == 200
    assert list(Subscription.objects.values_list("user", "radar")) == [(bob.pk, agents.pk)]
    assert listed(bob_client.get("/api/v1/topics")) == [("LLM agents", 1, True)]

    unsubscribed = bob_client.delete(url)

    assert unsubscribed.json() == {"id": agents.pk, "subscribed": False, "subscriber_count": 0}
    assert not Subscription.objects.exists()
    assert bob_client.delete(url).status_code == 200  # not following: nothing to undo


def test_a_private_radar_cannot_be_subscribed_to(alice: Any, bob: Any, bob_client: Client) -> None:
    private = topic(alice, "Alice's private radar", public=False)

    assert bob_client.post(f"/api/v1/topics/{private.pk}/subscribe").status_code == 404
    assert bob_client.post("/api/v1/topics/999999/subscribe").status_code == 404
    assert not Subscription.objects.exists()


def test_a_public_topic_is_readable_but_not_changeable_by_others(
    alice: Any, bob_client: Client
) -> None:
    agents = topic(alice, "LLM agents", description="Agents", include="agent")

    assert listed(bob_client.get("/api/v1/topics")) == [("LLM agents", 0, False)]
    patched = bob_client.patch(
        f"/api/v1/radars/{agents.pk}", {"name": "Mine now"}, content_type="application/json"
    )
    deleted = bob_client.delete(f"/api/v1/radars/{agents.pk}")

    assert (patched.status_code, deleted.status_code) == (404, 404)
    agents.refresh_from_db()
    assert (agents.name, agents.owner) == ("LLM agents", alice)


def test_without_a_token_topics_are_401(alice: Any) -> None:
    agents = topic(alice, "LLM agents")

    assert Client().get("/api/v1/topics").status_code == 401
    assert Client().post(f"/api/v1/topics/{agents.pk}/subscribe").status_code == 401
    assert Client().delete(f"/api/v1/topics/{agents.pk}/subscribe").status_code == 401
    assert not Subscription.objects.exists()
