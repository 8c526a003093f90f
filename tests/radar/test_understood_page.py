"""The radar's description "understood as" an English search profile, on its edit page and
its feed: shown with who wrote it, in both interface languages; a note while the language
model writes it; nothing without a language model; editable by the owner only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings

from radar.models import Radar
from radar.understanding import description_digest
from testkit.fake_llm import FakeLLM
from tests.factories import make_radar, signed_in
from tests.pages import text_of

pytestmark = pytest.mark.django_db

ZH = "大语言模型的提示注入攻击与防御"
PROFILE_TEXT = "Prompt injection attacks on large language models and defences against them."


@pytest.fixture
def llm_on(settings: Settings, redis_client: Any) -> Iterator[FakeLLM]:
    """A language model configured (the local server; these tests make no call)."""
    server = FakeLLM().start()
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_MODEL = "fake-model"
    yield server
    server.stop()


@pytest.fixture
def llm_off(settings: Settings) -> Settings:
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""
    return settings


def understood_radar(owner: User, by: str = "llm", description: str = ZH) -> Radar:
    """A radar whose description the language model (or its owner) understood."""
    return make_radar(
        owner,
        description=ZH,
        understood={
            "text": PROFILE_TEXT,
            "keywords": ["prompt injection", "jailbreak", "LLM agent"],
            "by": by,
            "for": description_digest(description),
            "model": "fake-model" if by == "llm" else "",
        },
    )


def edit_page(client: Client, radar: Radar) -> str:
    response = client.get(f"/radars/{radar.pk}/edit/")
    assert response.status_code == 200
    return response.content.decode()


def edit_form(radar: Radar, **fields: str) -> dict[str, str]:
    """What the edit form posts for `radar` unchanged, with `fields` changed."""
    keywords = ", ".join(radar.understood.get("keywords", []))
    data = {
        "name": radar.name,
        "description": radar.description,
        "include": radar.include,
        "exclude": "",
        "categories": "",
        "authors": "",
        "examples": "",
        "threshold": f"{radar.threshold:g}",
        "understood_text": radar.understood.get("text", ""),
        "understood_keywords": keywords,
    }
    data.update(fields)
    return data


def test_the_edit_page_shows_what_the_description_was_understood_as(
    llm_on: FakeLLM, alice: User
) -> None:
    radar = understood_radar(alice)

    page = edit_page(signed_in(alice), radar)
    text = text_of(page)

    assert f"Understood as: {PROFILE_TEXT} · prompt injection, jailbreak, LLM agent" in text
    assert "(written by the language model)" in text
    assert "Edit the English search profile" in text
    assert 'name="understood_keywords" value="prompt injection, jailbreak, LLM agent"' in page
    assert llm_on.requests == []  # showing it asks nobody


def test_the_chinese_interface_says_understood_as_in_chinese_and_keeps_the_english(
    llm_on: FakeLLM, alice: User
) -> None:
    radar = understood_radar(alice, by="you")
    client = signed_in(alice)
    client.cookies["lang"] = "zh-hans"

    text = text_of(edit_page(client, radar))

    assert f"理解为： {PROFILE_TEXT}" in text
    assert "（由你撰写）" in text or "(由你撰写)" in text
    assert "英文关键词" in text and "编辑英文检索画像" in text


def test_a_note_says_the_profile_is_being_written(llm_on: FakeLLM, alice: User) -> None:
    radar = make_radar(alice, description=ZH)

    text = text_of(edit_page(signed_in(alice), radar))

    assert "the language model is writing an English search profile" in text
    assert "Write an English search profile (optional)" in text


def test_without_a_language_model_nothing_claims_an_understanding(
    llm_off: Settings, alice: User
) -> None:
    fresh = make_radar(alice, description=ZH)
    # Made by a language model for an earlier description: no longer what the radar means.
    stale = understood_radar(alice, description="an older description")

    for radar in (fresh, stale):
        text = text_of(edit_page(signed_in(alice), radar))
        assert "Understood as:" not in text
        assert "language model is writing" not in text
        assert PROFILE_TEXT not in text


def test_the_feed_shows_the_owner_the_english_profile(llm_on: FakeLLM, alice: User) -> None:
    radar = understood_radar(alice)

    text = text_of(signed_in(alice).get(f"/radars/{radar.pk}/").content.decode())

    assert f"Understood as: {PROFILE_TEXT}" in text
    assert "Edit the English search profile" not in text


def test_saving_the_form_untouched_leaves_the_profile_the_language_models(
    llm_on: FakeLLM, alice: User
) -> None:
    radar = understood_radar(alice)
    before = dict(radar.understood)

    response = signed_in(alice).post(f"/radars/{radar.pk}/edit/", edit_form(radar, name="Renamed"))

    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.name == "Renamed"
    assert radar.understood == before


def test_the_owner_edits_the_profile_and_it_becomes_theirs(llm_on: FakeLLM, alice: User) -> None:
    radar = understood_radar(alice)

    response = signed_in(alice).post(
        f"/radars/{radar.pk}/edit/",
        edit_form(radar, understood_keywords="prompt injection, indirect prompt injection"),
    )

    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.understood == {
        "text": PROFILE_TEXT,
        "keywords": ["prompt injection", "indirect prompt injection"],
        "by": "you",
        "for": description_digest(ZH),
        "model": "",
    }
    text = text_of(edit_page(signed_in(alice), radar))
    assert "(written by you)" in text


def test_a_profile_not_in_english_is_refused_with_a_message(llm_on: FakeLLM, alice: User) -> None:
    radar = understood_radar(alice)
    before = dict(radar.understood)

    response = signed_in(alice).post(
        f"/radars/{radar.pk}/edit/", edit_form(radar, understood_keywords="提示注入, jailbreak")
    )

    assert response.status_code == 200
    assert "Write the English profile and its keywords in English." in text_of(
        response.content.decode()
    )
    radar.refresh_from_db()
    assert radar.understood == before


def test_another_user_can_neither_read_nor_change_the_profile(
    llm_on: FakeLLM, alice: User, bob: User
) -> None:
    radar = understood_radar(alice)
    before = dict(radar.understood)
    client = signed_in(bob)

    assert client.get(f"/radars/{radar.pk}/edit/").status_code == 404
    response = client.post(
        f"/radars/{radar.pk}/edit/", edit_form(radar, understood_text="Bob's words.")
    )

    assert response.status_code == 404
    radar.refresh_from_db()
    assert radar.understood == before


def test_an_anonymous_visitor_is_sent_to_sign_in(llm_on: FakeLLM, alice: User) -> None:
    radar = understood_radar(alice)
    before = dict(radar.understood)
    client = Client()

    response = client.get(f"/radars/{radar.pk}/edit/")
    assert response.status_code == 302 and "/login" in response["Location"]
    response = client.post(f"/radars/{radar.pk}/edit/", edit_form(radar, understood_text="x"))
    assert response.status_code == 302
    radar.refresh_from_db()
    assert radar.understood == before
