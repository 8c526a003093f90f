"""Pure scoring with plain arrays: no database, no embedder, structured reasons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radar.query import exclude_query, normalise, parse
from radar.scoring import (
    MAX_SCORE,
    NOISE_MEANING,
    NOISE_WORDS,
    SIM_CEIL,
    SIM_FLOOR,
    W_ABSTRACT,
    W_AUTHOR,
    W_MEANING,
    W_TITLE,
    W_WORDS,
    WORDS_TYPICAL,
    PaperIn,
    RadarIn,
    radars_score_batch,
)
from radar.words import WORDS_HALF, WordStats, description_words

# IDF as over a thousand papers: a word none of them has is rare; "error" is common-ish.
STATS = WordStats(docs=1000, df={"error": 100}, average_length=12.0)


def paper(pid: int, title: str, abstract: str = "", **kw: object) -> PaperIn:
    return PaperIn(pid, normalise(title), normalise(abstract), **kw)  # type: ignore[arg-type]


def at_cosines(*cosines: float) -> tuple[np.ndarray, np.ndarray]:
    """2-d unit paper rows at these cosines to the profile [1, 0], and that profile."""
    rows = np.array([[c, np.sqrt(1 - c * c)] for c in cosines], dtype=np.float32)
    return rows, np.array([[1.0, 0.0]], dtype=np.float32)


def meaning_at(cosine: float) -> float:
    """The meaning points of a cosine in the default band."""
    return W_MEANING * min(1.0, max(0.0, (cosine - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)))


def test_a_phrase_in_the_title_outscores_the_same_phrase_in_the_abstract() -> None:
    papers = [
        paper(1, "Prompt injection in agents", "We attack tools."),
        paper(2, "Securing agents", "A study of prompt-injection attacks."),
        paper(3, "Protein folding", "Structures from sequence."),
    ]
    found = radars_score_batch(
        papers, [RadarIn(7, query=parse('"prompt injection"'), threshold=W_ABSTRACT)]
    )
    assert [(m.radar_id, m.paper_id, m.score, m.reasons) for m in found] == [
        (7, 1, W_TITLE, (("title", "prompt injection", W_TITLE),)),
        (7, 2, W_ABSTRACT, (("abstract", "prompt injection", W_ABSTRACT),)),
    ]


def test_only_the_first_named_term_carries_the_phrase_points() -> None:
    p = paper(1, "Jailbreak and prompt injection attacks")
    r = RadarIn(7, query=parse('"prompt injection" OR jailbreak'), threshold=W_TITLE)
    [m] = radars_score_batch([p], [r])
    assert m.score == W_TITLE
    assert m.reasons == (("title", "prompt injection", W_TITLE), ("title", "jailbreak", 0.0))


def test_a_title_phrase_and_a_followed_author_add_up() -> None:
    p = paper(1, "Jailbreaks of chat models", authors=(normalise("Jane Doe"), normalise("Bo Li")))
    r = RadarIn(7, query=parse("jailbreak"), authors={normalise("Jane Doe"): "Jane Doe"})
    [m] = radars_score_batch([p], [r])
    assert m.score == pytest.approx(W_TITLE + W_AUTHOR)
    assert m.reasons == (("title", "jailbreak", W_TITLE), ("author", "Jane Doe", W_AUTHOR))


def test_an_exclusion_wins_over_title_author_and_closeness() -> None:
    p = paper(1, "Prompt injection", "A survey.", authors=(normalise("Jane Doe"),))
    vectors, profile = at_cosines(1.0)
    r = RadarIn(
        7,
        query=parse('"prompt injection"'),
        exclude=exclude_query(["Survey"]),
        authors={normalise("Jane Doe"): "Jane Doe"},
    )
    assert radars_score_batch([p], [r], vectors, profile) == []
    # The same radar without the exclusion takes the paper.
    kept = RadarIn(7, query=r.query, authors=r.authors)
    assert [m.paper_id for m in radars_score_batch([p], [kept], vectors, profile)] == [1]


def test_a_category_filter_drops_a_paper_whatever_it_says() -> None:
    papers = [
        paper(1, "LLM agents", categories=frozenset({"cs.CR"})),
        paper(2, "LLM agents", categories=frozenset({"cs.LG"})),
    ]
    r = RadarIn(7, query=parse("agents"), categories=frozenset({"cs.CR"}), threshold=W_TITLE)
    assert [m.paper_id for m in radars_score_batch(papers, [r])] == [1]


def test_closeness_is_the_cosine_rescaled_within_the_radars_band() -> None:
    papers = [paper(1, "a"), paper(2, "b"), paper(3, "c")]
    vectors, profile = at_cosines(0.95, 0.85, 0.70)
    found = radars_score_batch(papers, [RadarIn(7, threshold=25)], vectors, profile)
    # Above SIM_CEIL closeness is capped at 1; 0.85 is 70% up the default band; 0.70 is below.
    middle = W_MEANING * (0.85 - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)
    assert [(m.paper_id, m.score, m.reasons) for m in found] == [
        (1, W_MEANING, (("meaning", W_MEANING, W_MEANING),)),
        (
            2,
            pytest.approx(middle, abs=0.05),
            (("meaning", pytest.approx(middle, abs=0.05), pytest.approx(middle, abs=0.05)),),
        ),
    ]
    # A radar whose band sits lower (a Chinese description) takes the third paper too.
    low = RadarIn(8, threshold=25, sim_floor=0.60, sim_ceil=0.70)
    assert [m.paper_id for m in radars_score_batch(papers, [low], vectors, profile)] == [1, 2, 3]


QUANTUM = [
    paper(1, "Quantum error correction with surface codes", "We decode under circuit noise."),
    paper(2, "Protein folding", "Structures from sequence."),
    paper(3, "Graph neural networks", "Message passing on molecules."),
]


def test_a_description_s_words_find_a_paper_without_any_vector() -> None:
    words = description_words("Quantum error correction")
    assert words == ("quantum", "error", "correction")
    found = radars_score_batch(QUANTUM, [RadarIn(7, words=words, threshold=25)], stats=STATS)
    assert [(m.paper_id, m.reasons[0][:2]) for m in found] == [
        (1, ("words", "quantum, error, correction"))
    ]
    [m] = found
    assert m.reasons == (("words", "quantum, error, correction", m.score),)
    assert NOISE_WORDS <= m.score < W_WORDS
    # A word the paper lacks adds nothing; a long description's sum is divided by its length
    # over WORDS_TYPICAL (here twice as long: half the BM25 sum).
    unrelated = tuple(f"absent{i}" for i in range(2 * WORDS_TYPICAL - len(words)))
    long_radar = RadarIn(7, words=words + unrelated, threshold=5)
    [long] = radars_score_batch(QUANTUM, [long_radar], stats=STATS)
    share = m.score / W_WORDS
    half_sum = WORDS_HALF * share / (1 - share) / 2
    assert long.score == pytest.approx(W_WORDS * half_sum / (half_sum + WORDS_HALF), abs=0.2)
    assert long.score < m.score
    # Rarer words earn more: with "quantum" as common as "error", the same paper scores less.
    common = WordStats(docs=1000, df={"error": 100, "quantum": 100}, average_length=12.0)
    [less] = radars_score_batch(QUANTUM, [RadarIn(7, words=words, threshold=5)], stats=common)
    assert less.score < m.score


def test_a_paper_far_in_meaning_and_sharing_no_words_stays_in_the_noise() -> None:
    # Paper 1 is just above the noise floor in meaning, paper 2 a little above the threshold
    # but below the floor, and shares none of the radar's words.
    assert meaning_at(0.83) >= NOISE_MEANING > meaning_at(0.80) > 5
    papers = [paper(1, "Surface codes"), paper(2, "Protein folding", "Structures.")]
    vectors, profile = at_cosines(0.83, 0.80)
    r = RadarIn(7, words=("quantum",), threshold=5)
    found = radars_score_batch(papers, [r], vectors, profile, stats=STATS)
    assert [m.paper_id for m in found] == [1]
    # A query hit needs no noise floor: the same far paper is taken when its title matches.
    hit = RadarIn(7, query=parse("protein"), words=("quantum",), threshold=5)
    found = radars_score_batch(papers, [hit], vectors, profile, stats=STATS)
    assert [m.paper_id for m in found] == [1, 2]
    assert [m.score for m in found] == pytest.approx(
        [meaning_at(0.83), W_TITLE + meaning_at(0.80)], abs=0.05
    )


def test_the_reasons_points_add_up_to_the_score_until_it_is_capped() -> None:
    p = paper(
        1,
        "Jailbreaks of chat models",
        "Quantum prompts bypass safety training.",
        authors=(normalise("Jane Doe"),),
    )
    words = description_words("jailbreak quantum safety")
    vectors, profile = at_cosines(0.81)
    r = RadarIn(7, query=parse("jailbreak"), words=words)
    [m] = radars_score_batch([p], [r], vectors, profile, stats=STATS)
    assert [reason[0] for reason in m.reasons] == ["title", "words", "meaning"]
    assert m.reasons[0] == ("title", "jailbreak", W_TITLE)
    assert m.reasons[1][1] == "jailbreak, quantum, safety"
    assert list(m.reasons[2][1:]) == pytest.approx([meaning_at(0.81)] * 2, abs=0.05)
    assert m.score < MAX_SCORE
    assert sum(reason[2] for reason in m.reasons) == pytest.approx(m.score, abs=0.15)
    # With a followed author and a close paper the parts pass 100: the score stops there.
    vectors, profile = at_cosines(0.95)
    followed = RadarIn(7, query=r.query, words=words, authors={normalise("Jane Doe"): "Jane Doe"})
    [capped] = radars_score_batch([p], [followed], vectors, profile, stats=STATS)
    assert capped.score == MAX_SCORE
    assert [reason[0] for reason in capped.reasons] == ["title", "author", "words", "meaning"]
    assert sum(reason[2] for reason in capped.reasons) > MAX_SCORE


def test_scoring_loads_no_django_at_all() -> None:
    code = (
        "import sys\n"
        "from radar.query import parse, normalise\n"
        "from radar.scoring import PaperIn, RadarIn, radars_score_batch\n"
        "p = PaperIn(1, normalise('Prompt injection'), '')\n"
        "print(radars_score_batch([p], [RadarIn(7, query=parse('prompt'), threshold=5)]))\n"
        "print('django loaded:', sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert (
        f"MatchIn(radar_id=7, paper_id=1, score={W_TITLE}, reasons=(('title', 'prompt', {W_TITLE}),))"
        in out.stdout
    )
    assert "django loaded: []" in out.stdout
