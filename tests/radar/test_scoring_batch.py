"""Batch scoring on plain arrays: a batch of radars scores as each radar would alone, whatever
the block size, and the words part is textbook BM25 (no database, no embedder)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

import radar.scoring
from radar.query import normalise, parse
from radar.scoring import (
    W_WORDS,
    WORDS_COVER_POWER,
    WORDS_COVER_RAREST,
    WORDS_TYPICAL,
    MatchIn,
    PaperIn,
    RadarIn,
    radars_score_batch,
)
from radar.words import (
    BM25_B,
    BM25_K1,
    WORDS_HALF,
    WordStats,
    bm25_index,
    bm25_postings,
    tokens,
)

WORDS = [
    "quantum",
    "error",
    "correction",
    "graph",
    "neural",
    "network",
    "protein",
    "folding",
    "language",
    "model",
    "jailbreak",
    "attack",
    "safety",
    "diffusion",
    "image",
    "robot",
    "policy",
    "speech",
    "federated",
    "privacy",
    "qubits",
    "networks",
]
AUTHORS = ("jane doe", "li wei", "bo chen")
CATEGORIES = ("cs.LG", "cs.CR", "quant-ph")
# Vector parts in quarters over 8 dimensions: every cosine is exact in float32, so it is the
# same whichever way a matrix product sums it.
QUARTERS = np.array([-0.5, -0.25, 0.0, 0.25, 0.5], dtype=np.float32)


def batch(seed: int) -> tuple[list[PaperIn], list[RadarIn], np.ndarray, np.ndarray]:
    """Papers and radars of every shape: queries with several terms, NOT, excluded phrases,
    followed authors, category filters, descriptions (some with repeated words), thresholds
    down to 0 and radars without a profile."""
    pick = random.Random(seed)
    papers = [
        PaperIn(
            id=100 + i,
            title_norm=normalise(" ".join(pick.choices(WORDS, k=pick.randint(1, 6)))),
            abstract_norm=normalise(" ".join(pick.choices(WORDS + ["the", "of"], k=30))),
            authors=tuple(pick.sample(AUTHORS, pick.randint(0, 2))),
            categories=frozenset(pick.sample(CATEGORIES, 1)),
        )
        for i in range(60)
    ]
    queries = [
        None,
        "quantum",
        '"neural network"',
        "graph OR protein OR speech",
        "attack NOT image",
    ]
    radars = []
    for i in range(40):
        query = pick.choice(queries)
        words = tuple(tokens(" ".join(pick.sample(WORDS, pick.choice((0, 2, 6, 9))))))
        radars.append(
            RadarIn(
                id=i + 1,
                query=parse(query) if query else None,
                exclude=parse("safety") if pick.random() < 0.1 else None,
                authors={"li wei": "Li Wei"} if pick.random() < 0.2 else {},
                categories=frozenset({"cs.LG"}) if pick.random() < 0.2 else frozenset(),
                threshold=pick.choice((40.0, 40.0, 25.0, 10.0, 0.0)),
                sim_floor=0.0,
                sim_ceil=1.0,
                words=words + words[:1] if pick.random() < 0.2 else words,
            )
        )
    rng = np.random.default_rng(seed)
    vectors = rng.choice(QUARTERS, size=(len(papers), 8))
    profiles = rng.choice(QUARTERS, size=(len(radars), 8))
    profiles[rng.random(len(radars)) < 0.3] = 0.0
    return papers, radars, vectors, profiles


def by_pair(matches: list[MatchIn]) -> dict[tuple[int, int], MatchIn]:
    return {(m.radar_id, m.paper_id): m for m in matches}


@pytest.mark.parametrize("seed", range(5))
def test_a_batch_of_radars_scores_as_each_radar_alone(seed: int) -> None:
    papers, radars, vectors, profiles = batch(seed)
    stats = WordStats.count(f"{p.title_norm} {p.abstract_norm}" for p in papers)
    together = radars_score_batch(papers, radars, vectors, profiles, stats)
    alone = [
        m
        for r, one in enumerate(radars)
        for m in radars_score_batch(papers, [one], vectors, profiles[r : r + 1], stats)
    ]
    assert by_pair(together) == by_pair(alone)
    assert len(together) == len(alone)
    # Every kind of match is there: by phrase, author, words and meaning.
    kinds = {reason[0] for m in together for reason in m.reasons}
    assert kinds == {"title", "abstract", "author", "words", "meaning"}


@pytest.mark.parametrize("block", [1, 3, 7])
def test_results_do_not_depend_on_the_block_of_radars(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers, radars, vectors, profiles = batch(block)
    whole = radars_score_batch(papers, radars, vectors, profiles)
    monkeypatch.setattr(radar.scoring, "SIM_BLOCK", block)
    assert radars_score_batch(papers, radars, vectors, profiles) == whole


def test_matches_come_paper_by_paper_then_radar_by_radar() -> None:
    papers, radars, vectors, profiles = batch(11)
    found = radars_score_batch(papers, radars, vectors, profiles)
    order = {p.id: i for i, p in enumerate(papers)}
    keys = [(order[m.paper_id], m.radar_id) for m in found]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def bm25(text: str, words: tuple[str, ...], stats: WordStats) -> float:
    """Okapi BM25 of a text for the words, straight from the formula."""
    counts = Counter(tokens(text))
    length = sum(counts.values())
    total = 0.0
    for word in words:
        tf = counts[word]
        if tf:
            norm = BM25_K1 * (1 - BM25_B + BM25_B * length / stats.average_length)
            total += stats.idf(word) * tf * (BM25_K1 + 1) / (tf + norm)
    return total


def cover(text: str, words: tuple[str, ...], stats: WordStats) -> float:
    """How much of the description the text covers: the IDF of its words the text holds over
    that of the WORDS_COVER_RAREST rarest words the reference papers have, capped at 1, to
    the power WORDS_COVER_POWER."""
    known = [stats.idf(w) for w in words if stats.df.get(w)] or [stats.idf(w) for w in words]
    mass = sum(sorted(known, reverse=True)[:WORDS_COVER_RAREST])
    held = sum(stats.idf(w) for w in words if w in set(tokens(text)))
    return float(min(1.0, held / mass) ** WORDS_COVER_POWER)


def test_the_words_part_is_bm25_saturated_and_names_the_words_found() -> None:
    papers, radars, _vectors, _profiles = batch(3)
    texts = [f"{p.title_norm} {p.abstract_norm}" for p in papers]
    stats = WordStats.count(texts)
    words = tuple(tokens("quantum error correction for privacy in speech models"))
    long_words = words + tuple(f"absent{i}" for i in range(WORDS_TYPICAL))
    for described in (words, long_words):
        found = by_pair(radars_score_batch(papers, [RadarIn(1, words=described, threshold=0)]))
        for paper, text in zip(papers, texts, strict=True):
            score = bm25(text, described, stats) / max(1.0, len(described) / WORDS_TYPICAL)
            points = W_WORDS * score / (score + WORDS_HALF) * cover(text, described, stats)
            m = found[1, paper.id]
            assert m.score == pytest.approx(points, abs=0.051)
            held = [w for w in described if w in set(tokens(text))]
            assert m.reasons == ((("words", ", ".join(held), m.score),) if m.score >= 0.5 else ())


def test_postings_hold_each_word_s_texts_and_shares() -> None:
    texts = ["quantum error correction", "errors in quantum quantum codes", "protein folding", ""]
    stats = WordStats.count(texts)
    postings = bm25_postings(texts, ["quantum", "error", "absent"], stats)
    assert set(postings) == {"quantum", "error"}
    for word, (positions, shares) in postings.items():
        assert positions.tolist() == [i for i, t in enumerate(texts) if word in tokens(t)]
        assert shares.tolist() == pytest.approx([bm25(texts[i], (word,), stats) for i in positions])
    index = bm25_index(texts, ["quantum", "error", "absent"], stats)
    rows = np.array([index.rows[w] for w in ("quantum", "absent", "error")], dtype=np.int64)
    owner, positions, _shares = index.gather(rows)
    assert owner.tolist() == [0, 0, 2, 2]
    assert positions.tolist() == [0, 1, 0, 1]
    held = index.contains(rows[[0, 0, 1, 2]], np.array([1, 2, 1, 1]))
    assert held.tolist() == [True, False, False, True]
