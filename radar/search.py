"""Search by words and by meaning: the papers `feeds.search` finds by their words, fused with
the recent papers closest in meaning to the query (the multilingual embeddings papers get as
they arrive), so a Chinese query or a question in plain words finds English papers too. A
Chinese query is also searched by the English terms the bundled glossary gives for it
(`radar.crosslingual`), and embedded together with them.

The two rankings are fused by weighted reciprocal rank fusion (`hybrid_fuse`: each list
contributes its weight / (RRF_K + rank), the words WORDS_WEIGHT, meaning 1), and each result
keeps why it came: its words matched, it is close in meaning, or both. When no paper (or
hardly any) holds all the words, as for most questions in plain words, the papers holding
most of them (`feeds.search.papers_with_most`) join as a third ranking, weighing
SOME_WORDS_WEIGHT; a Chinese query's English terms are searched the same way: the papers
holding all of them first, then those holding most. `bench/relevance.py`'s
"hybrid" row measures `hybrid_fuse`.

A query's whole ranking is kept in the cache (`ranking_for`) while no newer paper is stored
and for at most RANKING_SECONDS: its next page, and the same search asked again, read only
their page's papers (no full-text search, no embedding, no nearest-neighbour search).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.core.cache import cache
from numpy.typing import NDArray
from pgvector.django import CosineDistance

from feeds.front import version
from feeds.models import Paper
from feeds.search import (
    SEARCH_PAGE_SIZE,
    SearchHits,
    SearchResult,
    author_named,
    papers_with_most,
    recent_since,
    search_hits,
    search_page,
)
from feeds.selectors import PaperFilters
from radar.crosslingual import english_gloss, english_term_groups, glossary_coverage
from radar.models import PaperEmbedding
from radar.profiles import closeness_quantiles, description_vector

# The papers closest in meaning that join the word matches.
SEMANTIC_CANDIDATES = 50
# multilingual-e5 puts any two texts at a cosine of 0.75 or so; below this a paper is not
# close in meaning to a query (an unrelated query's best paper sits around 0.79-0.80 on
# the bundled samples, a real topic's best ones at 0.83-0.89).
SEMANTIC_FLOOR = 0.81
# Closeness is also judged against the query's closeness to recent papers at large (a sample
# of the newest SEMANTIC_SAMPLE): a query about something has a tail of papers far above its
# median (99th percentile at 0.84-0.88 on the bundled samples for real topics, in English,
# Chinese or as a question); a made-up word or an unrelated query does not (0.79-0.82, its
# best paper at 0.82-0.84, still above SEMANTIC_FLOOR). Such a query finds nothing by
# meaning, and a paper must stand SEMANTIC_ABOVE_MEDIAN above the median to count as close.
# The cut sits nearer the made-up words than the questions (0.84), whose words may be few.
SEMANTIC_SAMPLE = 1000
SEMANTIC_SAMPLE_MIN = 200  # fewer papers than this: SEMANTIC_FLOOR alone
SEMANTIC_P99_MIN = 0.825
SEMANTIC_ABOVE_MEDIAN = 0.05
# A question on a niche topic has no tail, only its one paper: it passes too when its closest
# paper stands at SEMANTIC_BEST_MIN or more and SEMANTIC_BEST_ABOVE_P99 above the 99th
# percentile. On the bundled samples (1,582 papers), 18 made-up words and unrelated queries
# (xyzzyqq, "banana bread recipe", "knitting a wool sweater", 香蕉面包做法, ...): best paper
# 0.777-0.836, best - p99 +0.011-+0.042; the two real questions the p99 gate refused
# ("carbon-neutral heating", "insulin without a fridge"): best 0.898 and 0.862, best - p99
# +0.082 and +0.045. The best paper's cosine separates them (0.836 | 0.85 | 0.862), the
# distance above p99 guards a query close to every paper (a p99 just under 0.825).
SEMANTIC_BEST_MIN = 0.85
SEMANTIC_BEST_ABOVE_P99 = 0.03
RRF_K = 60
# A paper holding the query's words weighs twice one merely close in meaning: words alone
# rank better than meaning alone (bench/relevance.py, nDCG@10 0.82 against 0.77 for English
# descriptions, 0.81 against 0.50 for Chinese ones), and equal weights let a paper that is
# only close in meaning push one on the very subject down the first page (hybrid nDCG@10,
# English 0.843 at 1, 0.855 at 2; Chinese 0.739 and 0.785).
WORDS_WEIGHT = 2.0
# A paper holding only some of the words (or of a Chinese query's English terms) weighs as one
# close in meaning: a question's common words ("kept", "without") alone must not push the
# papers closest in meaning down.
SOME_WORDS_WEIGHT = 1.0
# The share of a Chinese query the glossary must cover for its English terms to be searched.
ENGLISH_COVERAGE = 0.8
# How long a query's ranking is kept (a newer paper replaces it at once: see `ranking_for`).
RANKING_SECONDS = 300


@dataclass
class HybridResult(SearchResult):
    """One page of results by words and by meaning, each with why it came; `mode` is
    "english" when only a Chinese query's English terms (and closeness) found papers, and
    "meaning" when only closeness did."""

    by_words: set[int] = field(default_factory=set)
    # The papers holding only some of the words, with the words each holds.
    some_words: dict[int, list[str]] = field(default_factory=dict)
    # No paper holds all the words; some hold part of them (`some_words`).
    partial: bool = False
    # A Chinese query's English terms (the glossary's), and the papers they found, with the
    # terms each holds.
    english: str = ""
    by_english: set[int] = field(default_factory=set)
    english_held: dict[int, list[str]] = field(default_factory=dict)
    # Paper id → cosine to the query, for the papers close in meaning.
    closeness: dict[int, float] = field(default_factory=dict)


def papers_close_in_meaning(
    text: str, filters: PaperFilters, *, since: date | None
) -> dict[int, float]:
    """The papers announced since `since` (None: all) that `filters` keep and that are closest
    in meaning to `text` above SEMANTIC_FLOOR, with their cosines, closest first. `text` is
    embedded as a radar's description is: with the English glossary terms of its Chinese."""
    vector = description_vector(text)
    if vector is None:
        return {}
    papers = filters.apply(Paper.objects.all())
    if since:
        papers = papers.filter(announced__gte=since)
    nearest = list(
        PaperEmbedding.objects.filter(paper__in=papers)
        .annotate(distance=CosineDistance("vector", vector.tolist()))
        .order_by("distance")
        .values_list("paper_id", "distance")[:SEMANTIC_CANDIDATES]
    )
    if not nearest:
        return {}
    floor = meaning_floor(vector, best=1 - nearest[0][1])
    if floor is None:
        return {}
    return {pid: 1 - distance for pid, distance in nearest if 1 - distance >= floor}


def meaning_floor(vector: NDArray[np.float32], *, best: float | None = None) -> float | None:
    """The cosine a paper needs to count as close in meaning to a query embedded as `vector`,
    whose closest paper is at `best`; None when the query is close to nothing in particular
    (see SEMANTIC_P99_MIN and SEMANTIC_BEST_MIN); from its closeness to the newest papers
    (`closeness_quantiles`, as a radar's band is made)."""
    count, median, p99 = closeness_quantiles(vector, SEMANTIC_SAMPLE)
    if count < SEMANTIC_SAMPLE_MIN:
        return SEMANTIC_FLOOR
    stands_out = (
        best is not None and best >= SEMANTIC_BEST_MIN and best - p99 >= SEMANTIC_BEST_ABOVE_P99
    )
    if p99 < SEMANTIC_P99_MIN and not stands_out:
        return None
    return max(SEMANTIC_FLOOR, median + SEMANTIC_ABOVE_MEDIAN)


def rrf(*rankings: list[int], weights: Sequence[float] = ()) -> list[int]:
    """Reciprocal rank fusion of rankings (best first), each weighted (default 1); ties keep
    the first ranking's order."""
    scores: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if n < len(weights) else 1.0
        for rank, pid in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + weight / (RRF_K + rank + 1)
    first = {pid: i for i, pid in enumerate(rankings[0])} if rankings else {}
    return sorted(scores, key=lambda pid: (-scores[pid], first.get(pid, len(first))))


def hybrid_fuse(words: list[int], meaning: list[int]) -> list[int]:
    """The papers found by their words and those close in meaning (each best first) in one
    ranking: RRF with the words weighing WORDS_WEIGHT."""
    return rrf(words, meaning, weights=(WORDS_WEIGHT, 1.0))


@dataclass(frozen=True)
class Ranking:
    """Everything a query finds, best first: what a page of its results is cut from."""

    ids: list[int]
    hits: SearchHits
    # The papers a Chinese query's English terms (the glossary's) found, those holding all
    # the terms first, and the terms each holds.
    by_english: list[int]
    # Paper id → cosine to the query, for the papers close in meaning.
    closeness: dict[int, float]
    english_held: dict[int, list[str]] = field(default_factory=dict)


def ranking_for(*, q: str, author: str = "", filters: PaperFilters | None = None) -> Ranking:
    """The query's ranking (`ranking_search`), from the cache when the same search was made
    since the newest paper was stored (`feeds.front.version`)."""
    filters = filters or PaperFilters()
    asked = json.dumps([q, author, sorted(filters.params().items())], ensure_ascii=False)
    key = f"radar:search2:{version()}:{hashlib.sha256(asked.encode()).hexdigest()[:32]}"
    cached = cache.get(key)
    if isinstance(cached, Ranking):
        return cached
    ranking = ranking_search(q=q, author=author, filters=filters)
    cache.set(key, ranking, RANKING_SECONDS)
    return ranking


def ranking_search(*, q: str, author: str, filters: PaperFilters) -> Ranking:
    """The papers matching `q` by words or by meaning (and `author`, by name), fused."""
    hits: SearchHits = search_hits(q=q, author=author, filters=filters)
    closeness: dict[int, float] = {}
    # Only words: an author search keeps to the author's papers.
    if hits.text and not hits.author:
        # The recent window as `search_papers` scans it; a substring search has found its day.
        since = recent_since(filters) if hits.fulltext else hits.scanned_since
        closeness = papers_close_in_meaning(hits.text, filters, since=since)
    # A Chinese query's English terms (the glossary's) find the English papers by their words,
    # after the papers holding the Chinese text itself; only when the glossary knows nearly
    # all of it (half a query in English may be about something else: meaning decides then).
    groups: list[list[str]] = []
    if hits.text and not hits.author and glossary_coverage(hits.text) >= ENGLISH_COVERAGE:
        groups = english_term_groups(hits.text)
    held: dict[int, list[str]] = {}
    if groups:
        held = dict(papers_with_most(groups, filters.apply(Paper.objects.all())))
    by_english = list(held)
    # Holding all the words (or all the English terms) weighs WORDS_WEIGHT; some of them,
    # SOME_WORDS_WEIGHT.
    words = list(
        dict.fromkeys(
            [
                *(pid for pid in hits.ids if pid not in hits.some_words),
                *(pid for pid in by_english if len(held[pid]) == len(groups)),
            ]
        )
    )
    taken = set(words)
    some = [pid for pid in dict.fromkeys([*hits.some_words, *by_english]) if pid not in taken]
    if closeness:
        # Meaning before some of the words: of two papers level, the one close in meaning.
        ids = rrf(words, list(closeness), some, weights=(WORDS_WEIGHT, 1.0, SOME_WORDS_WEIGHT))
    else:
        ids = words + some
    return Ranking(ids, hits, by_english, closeness, held)


def search_hybrid(
    *,
    q: str,
    author: str = "",
    filters: PaperFilters | None = None,
    page: int = 1,
    page_size: int = SEARCH_PAGE_SIZE,
) -> HybridResult:
    """One page of the papers matching `q` by words or by meaning (and `author`, by name)."""
    ranking = ranking_for(q=q, author=author, filters=filters)
    hits = ranking.hits
    offset = (max(page, 1) - 1) * page_size
    chosen = ranking.ids[offset : offset + page_size]
    papers, titles, snippets = search_page(
        chosen,
        text=hits.text,
        fulltext=hits.fulltext,
        words=hits.words,
        partial=hits.some_words,
    )
    if hits.by_name:
        # Why each came (feeds/_paper_body.html): "author: Gaetano Lambiase", not its words.
        for paper in papers:
            setattr(paper, "search_author", author_named(paper, hits.author))  # noqa: B010
    return HybridResult(
        papers=papers,
        titles=titles,
        snippets=snippets,
        has_more=len(ranking.ids) > offset + page_size,
        mode=hits.mode
        if hits.ids
        else "english"
        if ranking.by_english
        else "meaning"
        if ranking.closeness
        else hits.mode,
        scanned_since=hits.scanned_since,
        by_words=set() if hits.by_name else set(hits.ids) - set(hits.some_words),
        some_words={pid: hits.some_words[pid] for pid in chosen if pid in hits.some_words},
        partial=hits.partial,
        english=english_gloss(hits.text) if ranking.by_english else "",
        by_english=set(ranking.by_english),
        english_held={
            pid: ranking.english_held[pid] for pid in chosen if pid in ranking.english_held
        },
        closeness=ranking.closeness,
    )
