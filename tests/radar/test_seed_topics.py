"""`manage.py seed_topics`: starter public topics owned by a staff account, idempotent."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from accounts.models import Profile
from radar.management.commands.seed_topics import TOPICS, TOPICS_ACCOUNT
from radar.models import Radar, Subscription
from radar.query import parse
from radar.scoring import DEFAULT_THRESHOLD
from radar.selectors import topics_directory
from tests.factories import make_radar
from tests.pages import text_of

pytestmark = pytest.mark.django_db


def seed() -> dict[str, Any]:
    out = StringIO()
    call_command("seed_topics", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    result: dict[str, Any] = json.loads(lines[0])
    return result


def test_it_creates_public_topics_owned_by_a_staff_account_that_cannot_sign_in() -> None:
    result = seed()

    n = len(TOPICS)
    assert result == {"account": TOPICS_ACCOUNT, "topics": n, "created": n, "updated": 0,
                      "unchanged": 0}  # fmt: skip
    staff = User.objects.get(username=TOPICS_ACCOUNT)
    assert (staff.email, staff.is_staff, staff.is_superuser) == (TOPICS_ACCOUNT, True, False)
    assert not staff.has_usable_password()
    assert Profile.objects.get(user=staff).digest_frequency == "off"
    topics = Radar.objects.filter(owner=staff)
    assert topics.count() == n
    assert all(topic.public and topic.active for topic in topics)


def test_the_starter_set_covers_the_fields_asked_for_with_real_definitions() -> None:
    seed()

    names = set(Radar.objects.values_list("name", flat=True))
    assert {
        "LLM agents and safety",
        "Diffusion models",
        "Single-cell omics",
        "Medical imaging AI",
        "Quantum information",
        "Causal inference",
    } <= names
    for topic in Radar.objects.all():
        assert len(topic.description) > 80, topic.name  # a sentence, not a label
        assert parse(topic.include).terms(), topic.name
    quantum = Radar.objects.get(name="Quantum information")
    assert quantum.categories == ["quant-ph"]
    assert Radar.objects.get(name="Single-cell omics").categories == []  # bioRxiv has others


def test_running_it_again_creates_no_duplicates_and_changes_nothing() -> None:
    seed()
    before = {r.pk: r.updated_at for r in Radar.objects.all()}

    result = seed()

    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, len(TOPICS))
    assert User.objects.filter(username=TOPICS_ACCOUNT).count() == 1
    assert {r.pk: r.updated_at for r in Radar.objects.all()} == before


def test_it_puts_back_a_topic_that_was_changed_and_keeps_its_subscribers(alice: User) -> None:
    seed()
    topic = Radar.objects.get(name="Causal inference")
    Subscription.objects.create(user=alice, radar=topic)
    Radar.objects.filter(pk=topic.pk).update(description="edited", public=False, threshold=90)

    result = seed()

    assert (result["created"], result["updated"]) == (0, 1)
    topic.refresh_from_db()
    expected = next(t for t in TOPICS if t["name"] == "Causal inference")
    assert (topic.description, topic.public, topic.threshold) == (
        expected["description"],
        True,
        DEFAULT_THRESHOLD,
    )
    assert Subscription.objects.filter(user=alice, radar=topic).exists()


def test_the_account_follows_none_of_its_topics_so_counts_are_real_people(alice: User) -> None:
    seed()
    Subscription.objects.create(user=alice, radar=Radar.objects.get(name="Diffusion models"))

    counts = {t.name: t.subscriber_count for t in topics_directory()}  # type: ignore[attr-defined]

    assert counts["Diffusion models"] == 1
    assert sum(counts.values()) == 1
    assert not Subscription.objects.filter(user__username=TOPICS_ACCOUNT).exists()


def test_an_existing_account_of_that_name_is_made_staff_without_a_password() -> None:
    User.objects.create_user(username=TOPICS_ACCOUNT, email="", password="guessable")

    seed()

    staff = User.objects.get(username=TOPICS_ACCOUNT)
    assert staff.is_staff and not staff.has_usable_password()
    assert staff.email == TOPICS_ACCOUNT


def test_the_starter_descriptions_show_in_the_readers_language_and_a_users_stay_as_written(
    client: Client, bob: User
) -> None:
    seed()
    causal = Radar.objects.get(owner__username=TOPICS_ACCOUNT, name="Causal inference")
    english = next(t["description"] for t in TOPICS if t["name"] == "Causal inference")
    bobs = make_radar(bob, name="Diffusion models", description="Papers I review", public=True)
    chinese_causal = "基于数据的因果推断：处理效应、因果发现、工具变量、双重差分"

    directory = text_of(client.get("/topics/").content.decode())
    page = text_of(client.get(f"/topics/{causal.pk}/").content.decode())
    assert english in directory and english in page
    assert chinese_causal not in directory + page
    assert "Papers I review" in directory

    client.cookies["lang"] = "zh-hans"
    directory = text_of(client.get("/topics/").content.decode())
    page = text_of(client.get(f"/topics/{causal.pk}/").content.decode())
    assert chinese_causal in directory and chinese_causal in page
    assert english not in directory + page
    assert "基于分数的生成模型" in directory  # the starter "Diffusion models"
    # Bob's topic of the same name keeps his words, on the directory and on its page.
    assert "Papers I review" in directory
    assert "Papers I review" in text_of(client.get(f"/topics/{bobs.pk}/").content.decode())
    # Stored descriptions stay English: matching and the owner's form read them.
    causal.refresh_from_db()
    assert causal.description == english
