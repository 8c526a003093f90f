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
    SIM_CEIL,
    SIM_FLOOR,
    W_ABSTRACT,
    W_AUTHOR,
    W_TITLE,
    PaperIn,
    RadarIn,
    radars_score_batch,
)


def paper(pid: int, title: str, abstract: str = "", **kw: object) -> PaperIn:
    return PaperIn(pid, normalise(title), normalise(abstract), **kw)  # type: ignore[arg-type]


def at_cosines(*cosines: float) -> tuple[np.ndarray, np.ndarray]:
    """2-d unit paper rows at these cosines to the profile [1, 0], and that profile."""
    rows = np.array([[c, np.sqrt(1 - c * c)] for c in cosines], dtype=np.float32)
    return rows, np.array([[1.0, 0.0]], dtype=np.float32)


def test_a_phrase_in_the_title_outscores_the_same_phrase_in_the_abstract() -> None:
    papers = [
        paper(1, "Prompt injection in agents", "We attack tools."),
        paper(2, "Securing agents", "A study of prompt-injection attacks."),
        paper(3, "Protein folding", "Structures from sequence."),
    ]
    found = radars_score_batch(
        papers, [RadarIn(7, query=parse('"prompt injection"'), threshold=0.3)]
    )
    assert [(m.radar_id, m.paper_id, m.score, m.reasons) for m in found] == [
        (7, 1, W_TITLE, (("title", "prompt injection"),)),
        (7, 2, W_ABSTRACT, (("abstract", "prompt injection"),)),
    ]


def test_a_title_phrase_and_a_followed_author_add_up() -> None:
    p = paper(1, "Jailbreaks of chat models", authors=(normalise("Jane Doe"), normalise("Bo Li")))
    r = RadarIn(7, query=parse("jailbreak"), authors={normalise("Jane Doe"): "Jane Doe"})
    [m] = radars_score_batch([p], [r])
    assert m.score == pytest.approx(W_TITLE + W_AUTHOR)
    assert m.reasons == (("title", "jailbreak"), ("author", "Jane Doe"))


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
    r = RadarIn(7, query=parse("agents"), categories=frozenset({"cs.CR"}))
    assert [m.paper_id for m in radars_score_batch(papers, [r])] == [1]


def test_closeness_is_the_cosine_rescaled_within_the_radars_band() -> None:
    papers = [paper(1, "a"), paper(2, "b"), paper(3, "c")]
    vectors, profile = at_cosines(0.95, 0.85, 0.70)
    found = radars_score_batch(papers, [RadarIn(7, threshold=0.5)], vectors, profile)
    # Above SIM_CEIL closeness is capped at 1; 0.85 is 70% up the default band; 0.70 is below.
    assert [(m.paper_id, m.score, m.reasons) for m in found] == [
        (1, 1.0, (("similar", 0.95),)),
        (
            2,
            pytest.approx((0.85 - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR), abs=1e-4),
            (("similar", 0.85),),
        ),
    ]
    # A radar whose band sits lower (a Chinese description) takes the third paper too.
    low = RadarIn(8, threshold=0.5, sim_floor=0.60, sim_ceil=0.70)
    assert [m.paper_id for m in radars_score_batch(papers, [low], vectors, profile)] == [1, 2, 3]


def test_scoring_loads_no_django_at_all() -> None:
    code = (
        "import sys\n"
        "from radar.query import parse, normalise\n"
        "from radar.scoring import PaperIn, RadarIn, radars_score_batch\n"
        "p = PaperIn(1, normalise('Prompt injection'), '')\n"
        "print(radars_score_batch([p], [RadarIn(7, query=parse('prompt'))]))\n"
        "print('django loaded:', sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert (
        "MatchIn(radar_id=7, paper_id=1, score=0.5, reasons=(('title', 'prompt'),))" in out.stdout
    )
    assert "django loaded: []" in out.stdout
