"""The radar's English search profile in the JSON API: returned when it describes the radar,
written by the owner on create or update (then theirs), refused when not English, and out
of reach of other users (404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.tokens import token_create
from radar.models import Radar
from radar.understanding import description_digest
from tests.api.conftest import bearer
from tests.factories import RadarFactory

pytestmark = pytest.mark.django_db

ZH = "大语言模型的提示注入攻击"
LLM_PROFILE = {
    "text": "Prompt injection attacks on large language models.",
    "keywords": ["prompt injection", "large language model", "jailbreak"],
    "by": "llm",
    "for": description_digest(ZH),
    "model": "fake-model",
}


@pytest.fixture
def bob_client(bob: Any) -> Client:
    _, secret = token_create(user=bob, name="bob's script")
    return Client(headers=bearer(secret))


def test_a_radar_comes_with_what_its_description_was_understood_as(
    alice: Any, api_client: Client
) -> None:
    radar = RadarFactory.create(owner=alice, name="PI", description=ZH, understood=LLM_PROFILE)
    stale = RadarFactory.create(
        owner=alice, name="Old", description="changed since", understood=LLM_PROFILE
    )

    body = api_client.get(f"/api/v1/radars/{radar.pk}").json()
    assert body["understood"] == {
        "text": LLM_PROFILE["text"],
        "keywords": LLM_PROFILE["keywords"],
        "by": "llm",
        "model": "fake-model",
    }
    # Made for an earlier description: not what the radar means now.
    assert api_client.get(f"/api/v1/radars/{stale.pk}").json()["understood"] is None
    listed = {r["name"]: r["understood"] for r in api_client.get("/api/v1/radars").json()["radars"]}
    assert listed["PI"]["by"] == "llm" and listed["Old"] is None


def test_the_owner_writes_the_profile_on_create_and_on_update(
    alice: Any, api_client: Client
) -> None:
    response = api_client.post(
        "/api/v1/radars",
        {
            "name": "PI",
            "description": ZH,
            "understood": {"text": "Prompt injection.", "keywords": ["prompt injection"]},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["understood"]["by"] == "you"
    radar = Radar.objects.get(owner=alice)
    assert radar.understood["for"] == description_digest(ZH)

    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}",
        {"understood": {"text": "Indirect prompt injection.", "keywords": ["tool poisoning"]}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    radar.refresh_from_db()
    assert radar.understood["text"] == "Indirect prompt injection."
    assert radar.understood["keywords"] == ["tool poisoning"]
    assert radar.understood["by"] == "you"

    # null hands it back to the language model.
    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}", {"understood": None}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["understood"] is None
    radar.refresh_from_db()
    assert radar.understood == {}


def test_a_profile_not_in_english_is_a_422(alice: Any, api_client: Client) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH, understood=LLM_PROFILE)

    response = api_client.patch(
        f"/api/v1/radars/{radar.pk}",
        {"understood": {"text": "提示注入", "keywords": []}},
        content_type="application/json",
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    # The schema states the profile is in Latin letters: the field inside it is named.
    assert error["loc"][-2:] == ["understood", "text"]
    radar.refresh_from_db()
    assert radar.understood == LLM_PROFILE


def test_another_user_can_neither_read_nor_change_it(alice: Any, bob_client: Client) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH, understood=LLM_PROFILE)

    assert bob_client.get(f"/api/v1/radars/{radar.pk}").status_code == 404
    response = bob_client.patch(
        f"/api/v1/radars/{radar.pk}",
        {"understood": {"text": "Bob's words.", "keywords": ["bob"]}},
        content_type="application/json",
    )

    assert response.status_code == 404
    radar.refresh_from_db()
    assert radar.understood == LLM_PROFILE
