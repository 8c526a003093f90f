"""Radar matching: pure scoring on hand-made vectors, then the real embedder end to end."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from feeds.models import Paper, PaperSighting
from radar.embedding import DIM
from radar.matching import papers_match
from radar.models import Feedback, Match, PaperEmbedding, Radar
from radar.profiles import papers_embed, radar_profile_update
from radar.query import exclude_query, normalise, parse
from radar.reasons import reasons_text
from radar.scoring import (
    DEFAULT_THRESHOLD,
    NOISE_MEANING,
    SIM_CEIL,
    SIM_FLOOR,
    W_ABSTRACT,
    W_AUTHOR,
    W_MEANING,
    W_TITLE,
    MatchIn,
    PaperIn,
    RadarIn,
    radars_score_batch,
)
from tests.factories import PaperFactory, SourceFactory

# --- pure scoring ---------------------------------------------------------------------------


def paper(pid: int, title: str, abstract: str = "", **kw: object) -> PaperIn:
    return PaperIn(pid, normalise(title), normalise(abstract), **kw)  # type: ignore[arg-type]


def radar(rid: int, include: str = "", **kw: object) -> RadarIn:
    return RadarIn(rid, query=parse(include) if include else None, **kw)  # type: ignore[arg-type]


def unit(cos: float) -> np.ndarray:
    """A unit vector at this cosine to the profile `PROFILE`."""
    v = np.zeros(DIM, dtype=np.float32)
    v[0], v[1] = cos, np.sqrt(1 - cos * cos)
    return v


PROFILE = unit(1.0).reshape(1, DIM)


def points(value: float) -> str:
    """How a reason's points are worded."""
    return f": +{value:.0f}"


def by_pair(matches: list[MatchIn]) -> dict[tuple[int, int], MatchIn]:
    return {(m.radar_id, m.paper_id): m for m in matches}


PI_TITLE = paper(1, "Prompt Injection in LLM agents", "We attack tool outputs.")
PI_ABSTRACT = paper(2, "Securing LLM agents", "A study of prompt-injection attacks.")
OTHER = paper(3, "Protein folding", "Structures from sequence.")


def test_title_hit_matches_and_outweighs_an_abstract_hit() -> None:
    found = by_pair(
        radars_score_batch(
            [PI_TITLE, PI_ABSTRACT, OTHER],
            [radar(7, '"prompt injection"', threshold=W_ABSTRACT)],
        )
    )
    assert set(found) == {(7, 1), (7, 2)}
    assert found[(7, 1)].score > found[(7, 2)].score
    assert reasons_text(found[(7, 1)].reasons) == [
        "title contains 'prompt injection'" + points(W_TITLE)
    ]
    assert reasons_text(found[(7, 2)].reasons) == [
        "abstract contains 'prompt injection'" + points(W_ABSTRACT)
    ]


def test_default_threshold_keeps_title_hits_and_drops_abstract_only_hits() -> None:
    # A phrase radar without a description: the phrase points are the whole score.
    assert W_ABSTRACT < DEFAULT_THRESHOLD <= W_TITLE
    found = radars_score_batch([PI_TITLE, PI_ABSTRACT], [radar(7, '"prompt injection"')])
    assert [(m.radar_id, m.paper_id, m.score) for m in found] == [(7, 1, W_TITLE)]
    # Some closeness lifts the abstract hit over it, even below the noise floor.
    cosine = SIM_FLOOR + 0.4 * (SIM_CEIL - SIM_FLOOR)
    assert W_MEANING * 0.4 < NOISE_MEANING
    assert W_ABSTRACT + W_MEANING * 0.4 >= DEFAULT_THRESHOLD
    vectors = np.stack([unit(cosine), unit(cosine)])
    found = radars_score_batch(
        [PI_TITLE, PI_ABSTRACT], [radar(7, '"prompt injection"')], vectors, PROFILE
    )
    assert [m.paper_id for m in found] == [1, 2]
    assert [m.score for m in found] == pytest.approx(
        [W_TITLE + W_MEANING * 0.4, W_ABSTRACT + W_MEANING * 0.4], abs=0.1
    )


def test_boolean_query_is_evaluated_and_plurals_reach_the_index() -> None:
    papers = [
        paper(1, "Jailbreaks of chat models"),
        paper(2, "A survey of jailbreak attacks"),
        paper(3, "Nothing relevant here"),
    ]
    found = by_pair(
        radars_score_batch(papers, [radar(7, "jailbreak NOT survey", threshold=W_TITLE)])
    )
    assert set(found) == {(7, 1)}
    # A pure NOT query has no terms: it is evaluated on every paper but earns no phrase points.
    assert radars_score_batch(papers, [radar(8, "NOT survey", threshold=5)]) == []


def test_exclusions_win_over_title_hits_and_followed_authors() -> None:
    p = paper(1, "Prompt injection: a survey", authors=(normalise("Jane Doe"),))
    r = radar(
        7,
        '"prompt injection"',
        exclude=exclude_query(["Survey"]),
        authors={normalise("Jane Doe"): "Jane Doe"},
    )
    assert radars_score_batch([p], [r]) == []


def test_categories_and_sources_are_hard_filters() -> None:
    p = paper(1, "Prompt injection", categories=frozenset({"cs.CR"}), sources=frozenset({"a"}))
    low = {"threshold": W_TITLE}
    assert (
        radars_score_batch([p], [radar(1, "prompt", categories=frozenset({"cs.CL"}), **low)]) == []
    )
    assert radars_score_batch([p], [radar(2, "prompt", sources=frozenset({"b"}), **low)]) == []
    kept = radars_score_batch(
        [p],
        [
            radar(
                3,
                "prompt",
                categories=frozenset({"cs.CR", "cs.CL"}),
                sources=frozenset({"a"}),
                **low,
            )
        ],
    )
    assert [m.radar_id for m in kept] == [3]


def test_followed_author_matches_without_any_phrase() -> None:
    p = paper(1, "Something new", authors=(normalise("Jane Doe"), normalise("Bo Li")))
    # An authors-only radar at the default threshold: the author's points are the score.
    found = radars_score_batch([p], [radar(7, authors={normalise("jane doe"): "Jane Doe"})])
    assert [(m.paper_id, m.score) for m in found] == [(1, W_AUTHOR)]
    assert reasons_text(found[0].reasons) == ["follows author Jane Doe" + points(W_AUTHOR)]


def test_similarity_is_rescaled_thresholded_and_named_in_reasons() -> None:
    # 80% up the default band (40 points), a little above its middle (27.5 points: above the
    # noise floor), and below it.
    close, middling, far = 0.86, (SIM_FLOOR + SIM_CEIL) / 2 + 0.005, 0.70
    vectors = np.stack([unit(close), unit(middling), unit(far)])
    papers = [paper(1, "a"), paper(2, "b"), paper(3, "c")]
    found = by_pair(radars_score_batch(papers, [radar(7)], vectors, PROFILE))
    assert set(found) == {(7, 1)}
    assert found[(7, 1)].score == pytest.approx(0.8 * W_MEANING, abs=0.1)
    assert reasons_text(found[(7, 1)].reasons) == ["close in meaning to this radar: +40"]
    lenient = by_pair(radars_score_batch(papers, [radar(7, threshold=25)], vectors, PROFILE))
    assert set(lenient) == {(7, 1), (7, 2)}
    assert lenient[(7, 2)].score == pytest.approx(0.55 * W_MEANING, abs=0.1)
    assert lenient[(7, 2)].reasons == (("meaning", 27.5, 27.5),)


def test_phrase_and_similarity_add_up() -> None:
    vec = unit(1.0).reshape(1, DIM)  # cosine 1: full meaning points
    [m] = radars_score_batch([PI_ABSTRACT], [radar(7, '"prompt injection"')], vec, PROFILE)
    assert m.score == pytest.approx(W_ABSTRACT + W_MEANING)
    assert reasons_text(m.reasons) == [
        "abstract contains 'prompt injection'" + points(W_ABSTRACT),
        "close in meaning to this radar" + points(W_MEANING),
    ]


# --- database and the real embedder ---------------------------------------------------------

PI = (
    "Indirect prompt injection attacks on LLM agents",
    "Adversaries hide instructions in retrieved web pages and tool outputs that hijack "
    "large language model agents; we evaluate attacks and defenses.",
)
FOLDING = (
    "Protein structure prediction from amino-acid sequences",
    "A deep network predicts the three-dimensional fold of proteins on CASP targets.",
)
JAILBREAK = (
    "Jailbreaking aligned chatbots with adversarial suffixes",
    "Optimised suffixes make safety-tuned language models produce harmful content.",
)


@pytest.fixture
def owner(alice: User) -> User:
    return alice


def make_paper(title_abstract: tuple[str, str], **kw: object) -> Paper:
    title, abstract = title_abstract
    return PaperFactory.create(title=title, abstract=abstract, **kw)


@pytest.mark.django_db
def test_chinese_description_ranks_an_english_prompt_injection_paper_first(owner: User) -> None:
    pi, folding = make_paper(PI), make_paper(FOLDING)
    r = Radar.objects.create(owner=owner, name="安全", description="大语言模型的提示注入攻击与防御")
    summary = papers_match([pi.pk, folding.pk])
    assert summary["embedded"] == 2
    assert PaperEmbedding.objects.count() == 2
    r.refresh_from_db()
    assert r.profile is not None and r.profile_updated_at is not None
    match = Match.objects.get(radar=r, paper=pi)
    assert not Match.objects.filter(radar=r, paper=folding).exists()
    # Close in meaning, and the glossary's English terms for the Chinese are found as words.
    kinds = {kind: (value, points) for kind, value, points in match.reasons}
    assert kinds["meaning"][1] >= NOISE_MEANING
    assert {"prompt", "injection"} <= set(kinds["words"][0].split(", "))
    assert match.score >= DEFAULT_THRESHOLD
    assert any(
        text.startswith("close in meaning to this radar: +") for text in reasons_text(match.reasons)
    )
    # Embedded once: a second run embeds nothing.
    assert papers_embed([pi.pk, folding.pk]) == 0


@pytest.mark.django_db
def test_feedback_moves_the_profile_the_expected_way(owner: User, bob: User) -> None:
    pi, jail, folding = make_paper(PI), make_paper(JAILBREAK), make_paper(FOLDING)
    papers_embed([pi.pk, jail.pk, folding.pk])
    vec = {e.paper_id: np.asarray(e.vector) for e in PaperEmbedding.objects.all()}
    r = Radar.objects.create(owner=owner, name="LLM security", description="LLM security attacks")
    radar_profile_update(r)

    def sim(p: Paper) -> float:
        r.refresh_from_db()
        return float(np.asarray(r.profile) @ vec[p.pk])

    base_fold, base_jail = sim(folding), sim(jail)
    Feedback.objects.create(user=owner, radar=r, paper=folding, value=1)
    radar_profile_update(r)
    assert sim(folding) > base_fold
    Feedback.objects.filter(radar=r).update(value=-1)
    radar_profile_update(r)
    assert sim(folding) < base_fold
    assert sim(jail) - sim(folding) > base_jail - base_fold
    # Another user's vote does not steer alice's radar.
    before = sim(folding)
    Feedback.objects.create(user=bob, radar=r, paper=pi, value=1)
    radar_profile_update(r)
    assert sim(folding) == pytest.approx(before)


@pytest.mark.django_db
def test_papers_match_twice_creates_no_duplicates_and_a_replacement_is_not_new(
    owner: User,
) -> None:
    src = SourceFactory.create(slug="cs-cr")
    pi = make_paper(PI, categories=["cs.CR"])
    PaperSighting.objects.create(source=src, paper=pi)
    r = Radar.objects.create(
        owner=owner,
        name="PI",
        include='"prompt injection"',
        sources=["cs-cr"],
        authors=["Ada Lovelace"],
    )
    Radar.objects.create(owner=owner, name="off", include='"prompt injection"', active=False)
    first = papers_match([pi.pk])
    assert first["created"] == 1 and first["radars"] == 1
    m = Match.objects.get()
    assert m.radar == r
    assert reasons_text(m.reasons) == [
        "title contains 'prompt injection'" + points(W_TITLE),
        "follows author Ada Lovelace" + points(W_AUTHOR),
    ]
    m.score = 9.0  # marks the row: a rescored replacement would overwrite it
    m.save()
    pi.title, pi.version, pi.announce_type = PI[0] + " (v2)", 2, "replace"
    pi.save()
    second = papers_match([pi.pk])
    assert second["created"] == 0 and second["matches"] == 1
    assert Match.objects.get().pk == m.pk and Match.objects.get().score == 9.0


@pytest.mark.django_db
def test_match_command_prints_one_json_line(owner: User) -> None:
    today = timezone.localdate()
    make_paper(JAILBREAK, announced=today)
    make_paper(FOLDING, announced=today - timedelta(days=30))
    Radar.objects.create(owner=owner, name="jb", include="jailbreaking")
    out = StringIO()
    call_command("match", stdout=out)
    line = json.loads(out.getvalue())
    assert line == {
        "since": (today - timedelta(days=7)).isoformat(),
        "papers": 1,
        "embedded": 1,
        "radars": 1,
        "matches": 1,
        "created": 1,
    }
    out = StringIO()
    call_command("match", "--since", "2000-01-01", stdout=out)
    line = json.loads(out.getvalue())
    assert (line["papers"], line["embedded"], line["created"]) == (2, 1, 0)
    assert date.fromisoformat(line["since"]) == date(2000, 1, 1)
