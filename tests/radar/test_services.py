"""Radar services: validation, creation with the owner subscribed, rescoring the recent
window after an edit, the preview, feedback steering the profile, following topics."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from radar.matching import radar_preview, radar_rescore, window_since
from radar.models import Feedback, Match, Radar, Subscription
from radar.reasons import reasons_text
from radar.scoring import DEFAULT_THRESHOLD, W_ABSTRACT, W_AUTHOR, W_TITLE
from radar.services import (
    THRESHOLD_RANGE,
    feedback_set,
    radar_clean,
    radar_create,
    radar_update,
    subscription_set,
)
from radar.tasks import radar_profile_refresh
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def test_clean_reports_a_bad_query_and_a_missing_interest_by_field() -> None:
    with pytest.raises(ValidationError) as bad:
        radar_clean({"name": "x", "include": '"prompt injection'})
    assert "include" in bad.value.message_dict
    with pytest.raises(ValidationError) as empty:
        radar_clean({"name": "x"})
    assert "description" in empty.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        radar_clean({"name": "x", "include": "a", "owner": 3})
    assert "owner" in unknown.value.messages[0]


def test_clean_normalises_lists_examples_and_threshold() -> None:
    fields = radar_clean(
        {
            "name": "  LLM safety ",
            "include": "jailbreak",
            "exclude": "survey\nsurvey\n\nreview",
            "examples": ["https://arxiv.org/abs/2411.01234v2", "doi:10.1101/ABC"],
            "threshold": "55",
        }
    )
    assert fields["name"] == "LLM safety"
    assert fields["exclude"] == ["survey", "review"]
    assert fields["examples"] == ["2411.01234", "10.1101/abc"]
    assert fields["threshold"] == 55.0
    # Points from 5 to 95, both ends included.
    assert THRESHOLD_RANGE == (5.0, 95.0)
    for ok in THRESHOLD_RANGE:
        assert radar_clean({"name": "x", "include": "a", "threshold": ok})["threshold"] == ok
    for bad in (4, 96, 0.5):
        with pytest.raises(ValidationError) as out_of_range:
            radar_clean({"name": "x", "include": "a", "threshold": bad})
        assert out_of_range.value.message_dict["threshold"] == [
            "The minimum score is between 5 and 95."
        ]
    with pytest.raises(ValidationError) as not_a_number:
        radar_clean({"name": "x", "include": "a", "threshold": "high"})
    assert not_a_number.value.message_dict["threshold"] == ["The minimum score is a number."]


def test_create_subscribes_the_owner_and_queues_a_rescore(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        radar = radar_create(owner=alice, fields=radar_clean({"name": "r", "include": "x"}))
    assert Subscription.objects.filter(user=alice, radar=radar).exists()
    assert len(callbacks) == 1


def test_window_counts_days_that_have_papers() -> None:
    today = timezone.localdate()
    for days_ago in (0, 3, 10, 40):
        PaperFactory.create(announced=today - timedelta(days=days_ago))
    assert window_since(1) == today
    assert window_since(3) == today - timedelta(days=10)
    assert window_since(9) == today - timedelta(days=40)
    assert window_since(0) is None


def test_rescore_after_an_edit_adds_new_matches_drops_stale_ones_and_keeps_rated(
    alice: User,
) -> None:
    day = date(2024, 11, 28)
    jailbreak = PaperFactory.create(title="A jailbreak benchmark", announced=day)
    survey = PaperFactory.create(title="A jailbreak survey", announced=day)
    folding = PaperFactory.create(title="Protein folding at scale", announced=day)
    # Phrases only (no description, no closeness): a title hit is the whole score.
    assert W_TITLE >= DEFAULT_THRESHOLD
    radar = Radar.objects.create(owner=alice, name="r", include="jailbreak")
    radar_rescore(radar)
    assert set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True)) == {
        jailbreak.pk,
        survey.pk,
    }
    Feedback.objects.create(user=alice, radar=radar, paper=survey, value=1)
    first = Match.objects.get(radar=radar, paper=jailbreak)

    radar_update(
        radar,
        fields=radar_clean(
            {"include": "jailbreak OR folding", "exclude": ["survey", "benchmark"]}, partial=True
        ),
    )
    radar_rescore(radar)
    kept = set(Match.objects.filter(radar=radar).values_list("paper_id", flat=True))
    # folding is new; the excluded benchmark is gone; the rated survey stays.
    assert kept == {folding.pk, survey.pk}
    assert not Match.objects.filter(pk=first.pk).exists()


def test_preview_ranks_title_hits_first_and_says_why() -> None:
    day = date(2024, 11, 28)
    PaperFactory.create(title="Prompt injection in agents", announced=day, key="a")
    PaperFactory.create(
        title="Agents", abstract="We study prompt injection.", announced=day, key="b"
    )
    PaperFactory.create(title="Unrelated", announced=day, key="c")
    found = radar_preview(
        radar_clean({"name": "p", "include": '"prompt injection"', "threshold": W_ABSTRACT}),
        days=7,
    ).matches
    assert [paper.key for paper, _ in found] == ["a", "b"]
    assert [match.score for _, match in found] == [W_TITLE, W_ABSTRACT]
    assert reasons_text(found[0][1].reasons) == [
        f"title contains 'prompt injection': +{W_TITLE:.0f}"
    ]
    assert reasons_text(found[1][1].reasons) == [
        f"abstract contains 'prompt injection': +{W_ABSTRACT:.0f}"
    ]


def test_the_preview_reads_the_english_keywords_the_owner_types() -> None:
    day = date(2024, 11, 28)
    for n in range(30):
        PaperFactory.create(title=f"Survey {n} of pottery", announced=day, key=f"bg{n}")
    PaperFactory.create(
        title="Frobnicator kinetics in zebrafish",
        abstract="Frobnicator kinetics measured in zebrafish larvae.",
        announced=day,
        key="hit",
    )
    definition = {"name": "p", "description": "某种奇怪的东西", "threshold": 5}
    mine = {"text": "", "keywords": ["frobnicator", "zebrafish kinetics"]}

    without = radar_preview(radar_clean(definition), days=7).matches
    with_profile = radar_preview(radar_clean({**definition, "understood": mine}), days=7).matches

    assert "hit" not in [paper.key for paper, _ in without]
    assert [paper.key for paper, _ in with_profile][:1] == ["hit"]
    assert [r[0] for r in with_profile[0][1].reasons] == ["words"]


def test_a_thumbs_down_moves_the_profile_away_from_that_paper(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    import numpy as np

    day = date(2024, 11, 28)
    pi = PaperFactory.create(
        title="Prompt injection attacks", abstract="Attacks on LLM agents.", announced=day
    )
    folding = PaperFactory.create(
        title="Protein folding", abstract="Structures from sequence.", announced=day
    )
    radar = Radar.objects.create(owner=alice, name="r", description="machine learning research")
    radar_rescore(radar)
    radar.refresh_from_db()
    before = np.asarray(radar.profile)
    with django_capture_on_commit_callbacks() as refreshes:
        feedback_set(user=alice, radar=radar, paper=folding, value=-1)
        feedback_set(user=alice, radar=radar, paper=pi, value=1)
    assert len(refreshes) == 2  # each vote queues a profile refresh for a worker
    radar_profile_refresh(radar.pk)  # what the worker runs
    radar.refresh_from_db()
    after = np.asarray(radar.profile)
    from radar.models import PaperEmbedding

    vec = {e.paper_id: np.asarray(e.vector) for e in PaperEmbedding.objects.all()}
    assert after @ vec[pi.pk] > before @ vec[pi.pk]
    assert after @ vec[folding.pk] < before @ vec[folding.pk]
    feedback_set(user=alice, radar=radar, paper=pi, value=0)
    assert not Feedback.objects.filter(paper=pi).exists()


def test_only_public_radars_can_be_followed_by_others(alice: User, bob: User) -> None:
    private = Radar.objects.create(owner=alice, name="mine", include="x")
    with pytest.raises(PermissionError):
        subscription_set(user=bob, radar=private, subscribed=True)
    topic = Radar.objects.create(owner=alice, name="topic", include="x", public=True)
    subscription_set(user=bob, radar=topic, subscribed=True)
    subscription_set(user=bob, radar=topic, subscribed=True)  # twice is harmless
    assert Subscription.objects.filter(user=bob, radar=topic).count() == 1
    # Made private again, the topic keeps no strangers.
    radar_update(topic, fields={"public": False})
    assert not Subscription.objects.filter(user=bob, radar=topic).exists()


def test_rescore_keeps_matches_the_preview_shortcut_would_miss(alice: User) -> None:
    # A lower-case author name: new papers match on normalised names, and so must a rescore
    # after an edit (it must not delete what matching made).
    day = date(2024, 11, 28)
    by_ada = PaperFactory.create(
        title="Analytical engines", authors=["Ada Lovelace"], announced=day
    )
    # Authors only: a followed author alone reaches the default threshold.
    assert W_AUTHOR >= DEFAULT_THRESHOLD
    radar = Radar.objects.create(owner=alice, name="r", authors=["ada lovelace"])
    radar_rescore(radar)
    assert Match.objects.filter(radar=radar, paper=by_ada).exists()
    radar_update(radar, fields={"name": "renamed"})
    radar_rescore(radar)
    assert Match.objects.filter(radar=radar, paper=by_ada).exists()


def test_a_strangers_rating_does_not_keep_a_match_in_the_owners_radar(
    alice: User, bob: User
) -> None:
    day = date(2024, 11, 28)
    paper = PaperFactory.create(title="A jailbreak benchmark", announced=day)
    radar = Radar.objects.create(owner=alice, name="r", include="jailbreak", public=True)
    radar_rescore(radar)
    assert Match.objects.filter(radar=radar, paper=paper).exists()
    Feedback.objects.create(user=bob, radar=radar, paper=paper, value=1)
    radar_update(radar, fields={"include": "folding"})
    radar_rescore(radar)
    assert not Match.objects.filter(radar=radar, paper=paper).exists()


def test_an_account_keeps_at_most_the_radar_limit(alice: User, client: Client) -> None:
    from radar.services import MAX_RADARS_PER_USER

    Radar.objects.bulk_create(
        Radar(owner=alice, name=f"r{i}", include="x") for i in range(MAX_RADARS_PER_USER)
    )
    with pytest.raises(ValidationError):
        radar_create(owner=alice, fields=radar_clean({"name": "one more", "include": "y"}))
    client.force_login(alice)
    page = client.post(
        "/radars/new/", {"name": "one more", "include": "y", "threshold": f"{DEFAULT_THRESHOLD:g}"}
    )
    assert page.status_code == 200 and "the most an account can keep" in page.content.decode()
    assert Radar.objects.filter(owner=alice).count() == MAX_RADARS_PER_USER
