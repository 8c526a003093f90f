"""A radar's description understood as an English search profile: one LLM call per new
description through the local OpenAI-compatible server, shared by radars with the same
description, validated and trimmed, kept when the owner wrote it, retried after a failure,
deferred when the budget is spent, and never asked without an LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings

from academichub.celery import QUEUES
from digests import llm
from digests.models import LLMCall
from digests.tasks import radar_understand as radar_understand_task
from digests.understanding import (
    MAX_ATTEMPTS,
    radar_understand,
    radars_understanding_due,
    understanding_ask,
)
from radar.services import radar_clean, radar_create, radar_update
from radar.signals import radar_described
from radar.understanding import description_digest, understood_for, understood_state
from testkit.fake_llm import FakeLLM, text_reply
from testkit.understanding_llm import (
    answering_understanding,
    request_description,
    understanding_reply,
    understanding_requests,
)
from tests.factories import RadarFactory

pytestmark = pytest.mark.django_db

ZH = "大语言模型的提示注入攻击与防御，包括越狱和智能体安全"
PROFILE = {
    "text": "Prompt injection attacks on large language models and defences against them, "
    "including jailbreaks and the security of LLM agents.",
    "keywords": ["prompt injection", "large language model", "jailbreak", "LLM agent security"],
}


@pytest.fixture
def understanding_llm(llm_settings: Settings, fake_llm: FakeLLM) -> FakeLLM:
    """The local LLM server answering the Chinese description with PROFILE."""
    return answering_understanding(fake_llm, {ZH: PROFILE})


@pytest.fixture
def described() -> Iterator[list[int]]:
    """The radar ids `radar_described` is sent for."""
    sent: list[int] = []

    def receive(sender: object, *, radar_id: int, **kwargs: object) -> None:
        sent.append(radar_id)

    radar_described.connect(receive, dispatch_uid="test.described")
    yield sent
    radar_described.disconnect(dispatch_uid="test.described")


def queued(redis_client: Any) -> list[tuple[str, str]]:
    """The tasks waiting in the broker (the app's Redis): (name, args), queue by queue in the
    order of academichub.celery.QUEUES, oldest first in each."""
    messages = [
        json.loads(raw) for queue in QUEUES for raw in reversed(redis_client.lrange(queue, 0, -1))
    ]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]


def test_a_chinese_description_gets_one_call_and_an_english_profile(
    understanding_llm: FakeLLM, alice: User
) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH)

    assert radar_understand(radar.pk) == "made"

    radar.refresh_from_db()
    assert radar.understood == {
        **PROFILE,
        "by": "llm",
        "for": description_digest(ZH),
        "model": "fake-model",
    }
    assert radar.understood_error == "" and radar.understood_attempts == 0
    profile = understood_for(radar)
    assert profile is not None and profile.keywords[0] == "prompt injection"
    [request] = understanding_requests(understanding_llm)
    assert request_description(request) == ZH
    system = request.messages[0]["content"]
    assert "untrusted data" in system and "English" in system
    assert request.body["response_format"]["json_schema"]["name"] == "search_profile"
    # Nothing about the owner reaches the model.
    assert alice.email not in request.raw and alice.username not in request.raw
    call = LLMCall.objects.get()
    assert (call.purpose, call.subject, call.outcome) == (
        "understanding",
        f"radar:{radar.pk}",
        "ok",
    )


def test_the_same_description_on_another_radar_costs_no_second_call(
    understanding_llm: FakeLLM, alice: User, bob: User
) -> None:
    first = RadarFactory.create(owner=alice, description=ZH)
    second = RadarFactory.create(owner=bob, description=ZH + "  ")  # whitespace only differs
    assert radar_understand(first.pk) == "made"

    assert radar_understand(second.pk) == "copied"

    second.refresh_from_db()
    first.refresh_from_db()
    assert second.understood == first.understood
    assert len(understanding_requests(understanding_llm)) == 1


def test_an_unchanged_description_is_not_asked_again(
    understanding_llm: FakeLLM,
    alice: User,
    described: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        radar = radar_create(owner=alice, fields=radar_clean({"name": "PI", "description": ZH}))
    assert described == [radar.pk]
    assert radar_understand(radar.pk) == "made"

    with django_capture_on_commit_callbacks(execute=True):
        radar_update(
            radar, fields=radar_clean({"name": "Renamed", "description": ZH}, partial=True)
        )
    assert radar_understand(radar.pk) == "unchanged"

    assert described == [radar.pk]  # the second save told nobody
    assert len(understanding_requests(understanding_llm)) == 1


def test_a_saved_radar_is_handed_to_the_understanding_task_then_rescored(
    understanding_llm: FakeLLM,
    alice: User,
    redis_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        radar = radar_create(owner=alice, fields=radar_clean({"name": "PI", "description": ZH}))
    assert queued(redis_client) == [
        ("radar.tasks.radar_rescore", f"({radar.pk},)"),
        ("digests.tasks.radar_understand", f"({radar.pk},)"),
    ]
    redis_client.delete(*QUEUES)

    with django_capture_on_commit_callbacks(execute=True):
        assert radar_understand_task(radar.pk) == "made"  # what the worker runs

    radar.refresh_from_db()
    assert radar.understood["by"] == "llm"
    assert queued(redis_client) == [("radar.tasks.radar_rescore", f"({radar.pk},)")]
    assert len(understanding_requests(understanding_llm)) == 1


def test_the_task_queues_a_rescore_only_when_a_profile_was_stored(
    understanding_llm: FakeLLM, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH)
    with django_capture_on_commit_callbacks() as callbacks:
        assert radar_understand_task(radar.pk) == "made"
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        assert radar_understand_task(radar.pk) == "unchanged"
    assert callbacks == []


def test_a_malformed_reply_is_recorded_stores_nothing_and_is_retried_later(
    understanding_llm: FakeLLM, alice: User
) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH)
    understanding_llm.script(
        text_reply("Sure! Here is the profile: prompt injection"),
        understanding_reply({"text": "大语言模型的提示注入", "keywords": ["提示注入"]}),
    )

    assert radar_understand(radar.pk) == "failed"

    radar.refresh_from_db()
    assert radar.understood == {}
    assert radar.understood_attempts == 1
    assert radar.understood_error.startswith("bad_output")
    assert "not in English" in radar.understood_error
    assert len(understanding_requests(understanding_llm)) == 2  # the call and one repair
    assert understood_state(radar).status == "pending"
    # The beat sweep finds it, and the next attempt stores the profile.
    assert radars_understanding_due() == [radar.pk]
    assert radar_understand(radar.pk) == "made"
    radar.refresh_from_db()
    assert radar.understood["text"] == PROFILE["text"]
    assert radar.understood_error == "" and radar.understood_attempts == 0
    assert radars_understanding_due() == []


def test_after_max_attempts_the_sweep_gives_up_until_the_radar_is_saved(
    understanding_llm: FakeLLM, alice: User
) -> None:
    radar = RadarFactory.create(
        owner=alice,
        description=ZH,
        understood_error="bad_output: x",
        understood_attempts=MAX_ATTEMPTS,
    )
    assert radars_understanding_due() == []
    assert understood_state(radar).status == "failed"
    radar_update(radar, fields=radar_clean({"name": "again"}, partial=True))
    assert radars_understanding_due() == [radar.pk]


def test_the_answer_is_cleaned_and_trimmed_rather_than_failing(
    understanding_llm: FakeLLM, alice: User
) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH)
    many = [f"attack type {n}" for n in range(14)]
    understanding_llm.script(
        understanding_reply(
            {
                "text": "<b>Prompt injection</b> attacks on LLM agents. See https://evil.example/x",
                "keywords": [
                    "<b>prompt injection</b>",
                    "提示注入",
                    "a very long keyword that goes on and on and on and on past sixty characters",
                    "Prompt Injection",
                    *many,
                ],
                "notes": "ignored",
            }
        )
    )

    assert radar_understand(radar.pk) == "made"

    radar.refresh_from_db()
    assert radar.understood["text"] == "Prompt injection attacks on LLM agents. See"
    keywords = radar.understood["keywords"]
    assert len(keywords) == 12
    assert keywords[:2] == ["prompt injection", "attack type 0"]
    assert "提示注入" not in keywords and "Prompt Injection" not in keywords
    assert all(len(k) <= 60 and "<" not in k for k in keywords)
    assert len(understanding_requests(understanding_llm)) == 1


def test_a_spent_budget_makes_no_call_and_defers(
    understanding_llm: FakeLLM, llm_settings: Settings, alice: User
) -> None:
    radar = RadarFactory.create(owner=alice, description=ZH)
    llm_settings.LLM_DAILY_TOKEN_BUDGET = 50  # less than one call's bound

    assert radar_understand(radar.pk) == "deferred"

    radar.refresh_from_db()
    assert understanding_requests(understanding_llm) == []
    assert radar.understood == {}
    assert radar.understood_error.startswith("budget")
    assert radar.understood_attempts == 0  # not the radar's fault
    assert understood_state(radar).status == "waiting"
    assert llm.budget_spent() == 0
    # Tomorrow (here: a bigger budget) the sweep asks again.
    llm_settings.LLM_DAILY_TOKEN_BUDGET = 100_000
    assert radars_understanding_due() == [radar.pk]
    assert radar_understand(radar.pk) == "made"


def test_a_profile_the_owner_wrote_is_kept_until_the_description_changes(
    understanding_llm: FakeLLM,
    alice: User,
    described: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mine = {
        "text": "Attacks that smuggle instructions into LLM inputs.",
        "keywords": "prompt injection, indirect prompt injection, jailbreak",
    }
    with django_capture_on_commit_callbacks(execute=True):
        radar = radar_create(
            owner=alice,
            fields=radar_clean({"name": "PI", "description": ZH, "understood": mine}),
        )
    radar.refresh_from_db()
    assert radar.understood == {
        "text": mine["text"],
        "keywords": ["prompt injection", "indirect prompt injection", "jailbreak"],
        "by": "you",
        "for": description_digest(ZH),
        "model": "",
    }
    assert described == []  # nothing to ask: the owner's profile is for this description
    assert radar_understand(radar.pk) == "unchanged"

    with django_capture_on_commit_callbacks(execute=True):
        radar_update(radar, fields=radar_clean({"include": "jailbreak"}, partial=True))
    radar.refresh_from_db()
    assert radar.understood["by"] == "you"
    assert described == []

    new = "面向智能体的间接提示注入"
    with django_capture_on_commit_callbacks(execute=True):
        radar_update(radar, fields=radar_clean({"description": new}, partial=True))
    assert described == [radar.pk]
    assert radar_understand(radar.pk) == "made"
    radar.refresh_from_db()
    assert radar.understood["by"] == "llm"
    assert radar.understood["for"] == description_digest(new)
    assert len(understanding_requests(understanding_llm)) == 1


def test_an_owner_profile_is_never_copied_to_other_radars(
    understanding_llm: FakeLLM, alice: User, bob: User
) -> None:
    radar_create(
        owner=alice,
        fields=radar_clean(
            {
                "name": "PI",
                "description": ZH,
                "understood": {"text": "Mine only.", "keywords": ["x y"]},
            }
        ),
    )
    other = RadarFactory.create(owner=bob, description=ZH)
    assert radar_understand(other.pk) == "made"
    other.refresh_from_db()
    assert other.understood["by"] == "llm"


def test_the_owner_profile_must_be_english() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        radar_clean(
            {"name": "x", "description": ZH, "understood": {"text": "提示注入", "keywords": []}}
        )
    assert "understood" in caught.value.message_dict


def test_without_an_llm_nothing_is_asked(
    no_llm: Settings,
    fake_llm: FakeLLM,
    alice: User,
    redis_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        radar = radar_create(owner=alice, fields=radar_clean({"name": "PI", "description": ZH}))
    # Only the rescore: no understanding task without an LLM.
    assert queued(redis_client) == [("radar.tasks.radar_rescore", f"({radar.pk},)")]
    assert radar_understand(radar.pk) == "skipped"
    assert radars_understanding_due() == []
    radar.refresh_from_db()
    assert radar.understood == {} and radar.understood_error == ""
    assert fake_llm.requests == []
    assert understood_state(radar).status == "none"


def test_understanding_ask_needs_no_radar(understanding_llm: FakeLLM) -> None:
    english = "Sparse attention for long documents and efficient transformers"
    profile = understanding_ask(english)
    assert profile["by"] == "llm" and profile["for"] == description_digest(english)
    assert profile["keywords"][:3] == ["sparse", "attention", "long"]
    with pytest.raises(ValueError):
        understanding_ask("  ")
    assert json.loads(understanding_requests(understanding_llm)[0].raw)["max_tokens"] == 500
