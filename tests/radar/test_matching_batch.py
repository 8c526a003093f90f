"""The batch scorer (queries evaluated on bitsets over the whole batch) agrees with the
per-paper evaluation of each query, on real papers and many generated queries."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from feeds.sources import arxiv_rss
from radar.query import normalise, parse
from radar.scoring import W_ABSTRACT, W_AUTHOR, W_TITLE, PaperIn, RadarIn, radars_score_batch
from tests.conftest import fixture_bytes

FEED = "arxiv-rss-all-archives-2024-11-28.xml"


@pytest.fixture(scope="module")
def papers() -> list[PaperIn]:
    entries = arxiv_rss.parse(fixture_bytes(FEED)).entries[:400]
    out = []
    for i, entry in enumerate(entries):
        paper = arxiv_rss.normalise(entry)
        out.append(
            PaperIn(
                id=i + 1,
                title_norm=normalise(paper.title),
                abstract_norm=normalise(paper.abstract),
                authors=tuple(normalise(a) for a in paper.authors),
                categories=frozenset(paper.categories),
                sources=frozenset({"arxiv" if i % 2 else "other"}),
            )
        )
    return out


def queries(papers: list[PaperIn], n: int) -> list[str]:
    """Queries of every shape from the papers' own words: phrases, OR, AND, NOT, groups."""
    pick = random.Random(7)
    df = Counter(w for p in papers for w in set(p.title_norm.split() + p.abstract_norm.split()))
    words = sorted(w for w, c in df.items() if 2 <= c <= 40 and len(w) > 3)
    titles = [p.title_norm.split() for p in papers]
    shapes = [
        lambda: pick.choice(words),
        lambda: '"' + " ".join(pick.choice(titles)[:2]) + '"',
        lambda: f"{pick.choice(words)} OR {pick.choice(words)}",
        lambda: f"{pick.choice(words)} {pick.choice(words)}",
        lambda: f"{pick.choice(words)} NOT {pick.choice(words)}",
        lambda: f"({pick.choice(words)} OR {pick.choice(words)}) -{pick.choice(words)}",
        lambda: f"NOT {pick.choice(words)}",
        lambda: f'"{pick.choice(words)}s" OR {pick.choice(words)}',
    ]
    return [pick.choice(shapes)() for _ in range(n)]


def test_batch_scores_equal_a_per_paper_evaluation(papers: list[PaperIn]) -> None:
    pick = random.Random(11)
    categories = sorted({c for p in papers for c in p.categories})
    authors = sorted({a for p in papers for a in p.authors})
    radars = []
    for rid, text in enumerate(queries(papers, 300), start=1):
        radars.append(
            RadarIn(
                id=rid,
                query=parse(text),
                exclude=parse(f'"{pick.choice(categories).split(".")[0]}"')
                if rid % 7 == 0
                else None,
                authors={a: a for a in pick.sample(authors, 2)} if rid % 5 == 0 else {},
                categories=frozenset(pick.sample(categories, 3)) if rid % 6 == 0 else frozenset(),
                sources=frozenset({"arxiv"}) if rid % 4 == 0 else frozenset(),
                threshold=0.3,
            )
        )
    found = {(m.radar_id, m.paper_id): m.score for m in radars_score_batch(papers, radars)}

    expected = {}
    for radar in radars:
        for paper in papers:
            if radar.categories and not radar.categories & paper.categories:
                continue
            if radar.sources and not radar.sources & paper.sources:
                continue
            if radar.exclude and radar.exclude.matches(paper.title_norm, paper.abstract_norm):
                continue
            score = 0.0
            assert radar.query is not None
            hit = radar.query.matches(paper.title_norm, paper.abstract_norm)
            if hit is not None and (hit.title or hit.abstract):
                score += W_TITLE if hit.title else W_ABSTRACT
            if any(a in radar.authors for a in paper.authors):
                score += W_AUTHOR
            if score >= radar.threshold:
                expected[(radar.id, paper.id)] = round(score, 4)
    assert len(expected) > 1000  # the generated queries do match a good share of papers
    assert found == expected
