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
from radar.scoring import SIM_CEIL, SIM_FLOOR, MatchIn, PaperIn, RadarIn, radars_score_batch
from tests.factories import PaperFactory, SourceFactory

# --- pure scoring ---------------------------------------------------------------------------


def paper(pid: int, title: str, abstract: str = "", **kw: object) -> PaperIn:
    return PaperIn(pid, normalise(title), normalise(abstract), **kw)  # type: ignore[arg-type]


def radar(rid: int, include: str = "", **kw: object) -> RadarIn:
    return RadarIn(rid, query=parse(include) if include else None, **kw)  # type: ignore[arg-type]


def by_pair(matches: list[MatchIn]) -> dict[tuple[int, int], MatchIn]:
    return {(m.radar_id, m.paper_id): m for m in matches}


PI_TITLE = paper(1, "Prompt Injection in LLM agents", "We attack tool outputs.")
PI_ABSTRACT = paper(2, "Securing LLM agents", "A study of prompt-injection attacks.")
OTHER = paper(3, "Protein folding", "Structures from sequence.")


def test_title_hit_matches_and_outweighs_an_abstract_hit() -> None:
    found = by_pair(
        radars_score_batch(
            [PI_TITLE, PI_ABSTRACT, OTHER], [radar(7, '"prompt injection"', threshold=0.3)]
        )
    )
    assert set(found) == {(7, 1), (7, 2)}
    assert found[(7, 1)].score > found[(7, 2)].score
    assert reasons_text(found[(7, 1)].reasons) == ["title contains 'prompt injection'"]
    assert reasons_text(found[(7, 2)].reasons) == ["abstract contains 'prompt injection'"]


def test_default_threshold_keeps_title_hits_and_drops_abstract_only_hits() -> None:
    found = radars_score_batch([PI_TITLE, PI_ABSTRACT], [radar(7, '"prompt injection"')])
    assert [(m.radar_id, m.paper_id) for m in found] == [(7, 1)]


def test_boolean_query_is_evaluated_and_plurals_reach_the_index() -> None:
    papers = [
        paper(1, "Jailbreaks of chat models"),
        paper(2, "A survey of jailbreak attacks"),
        paper(3, "Nothing relevant here"),
    ]
    found = by_pair(radars_score_batch(papers, [radar(7, "jailbreak NOT survey")]))
    assert set(found) == {(7, 1)}
    # A pure NOT query has no terms: it is evaluated on every paper but earns no phrase points.
    assert radars_score_batch(papers, [radar(8, "NOT survey")]) == []


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
    assert radars_score_batch([p], [radar(1, "prompt", categories=frozenset({"cs.CL"}))]) == []
    assert radars_score_batch([p], [radar(2, "prompt", sources=frozenset({"b"}))]) == []
    kept = radars_score_batch(
        [p],
        [radar(3, "prompt", categories=frozenset({"cs.CR", "cs.CL"}), sources=frozenset({"a"}))],
    )
    assert [m.radar_id for m in kept] == [3]


def test_followed_author_matches_without_any_phrase() -> None:
    p = paper(1, "Something new", authors=(normalise("Jane Doe"), normalise("Bo Li")))
    found = radars_score_batch([p], [radar(7, authors={normalise("jane doe"): "Jane Doe"})])
    assert len(found) == 1
    assert reasons_text(found[0].reasons) == ["follows author Jane Doe"]


def test_similarity_is_rescaled_thresholded_and_named_in_reasons() -> None:
    def unit(cos: float) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        v[0], v[1] = cos, np.sqrt(1 - cos * cos)
        return v

    profile = np.zeros((1, DIM), dtype=np.float32)
    profile[0, 0] = 1
    close, middling, far = 0.86, (SIM_FLOOR + SIM_CEIL) / 2 - 0.02, 0.70
    vectors = np.stack([unit(close), unit(middling), unit(far)])
    papers = [paper(1, "a"), paper(2, "b"), paper(3, "c")]
    found = by_pair(radars_score_batch(papers, [radar(7)], vectors, profile))
    assert set(found) == {(7, 1)}
    assert reasons_text(found[(7, 1)].reasons) == ["close to your description (0.86)"]
    lenient = radars_score_batch(papers, [radar(7, threshold=0.2)], vectors, profile)
    assert [m.paper_id for m in lenient] == [1, 2]


def test_phrase_and_similarity_add_up() -> None:
    profile = np.zeros((1, DIM), dtype=np.float32)
    profile[0, 0] = 1
    vec = np.zeros((1, DIM), dtype=np.float32)
    vec[0, 0] = 1  # cosine 1: full semantic score
    [m] = radars_score_batch([PI_ABSTRACT], [radar(7, '"prompt injection"')], vec, profile)
    assert m.score == pytest.approx(1.3)
    assert reasons_text(m.reasons) == [
        "abstract contains 'prompt injection'",
        "close to your description (1.00)",
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
    assert match.reasons and reasons_text(match.reasons)[0].startswith(
        "close to your description (0."
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
        "title contains 'prompt injection'",
        "follows author Ada Lovelace",
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
