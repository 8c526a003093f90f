"""Stored vectors: paper embeddings, and radar profiles with their similarity bands.

Papers are embedded once into `PaperEmbedding` (`papers_embed`) and read back as arrays
(`paper_vectors`). A radar's profile is the mean of its description, example papers and the
owner's 👍 papers, pushed away from their 👎 ones (Rocchio: `profile_combine`);
the description counts once, as the mean of itself and its English forms
(`description_texts`: the glossary's terms for a Chinese description, the English profile).

Where a profile's cosine band lies depends on the profile: a Chinese description sits about
0.03 lower against English papers, with a narrower spread, than the same interest in
English. So each radar gets its own band from the similarities of recent papers to its
profile (`band_for`: just below the median, to well above the 99th percentile); while too few
papers are embedded, scoring falls back to the fixed `radar.scoring` [SIM_FLOOR, SIM_CEIL].

The liked papers also teach what the embedding misses (`likes_learned`, kept on the radar as
`Radar.learned`): their primary categories and the words they share, the liked part of a
match's score (`radar.scoring`).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from pgvector import Vector
from redis.exceptions import RedisError

from feeds.models import Paper
from radar.crosslingual import english_gloss
from radar.embedding import get_embedder, paper_text
from radar.models import Feedback, PaperEmbedding, Radar
from radar.query import normalise
from radar.understanding import understood_for
from radar.words import WordStats, tfidf_mean

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "band_for",
    "closeness_quantiles",
    "description_combine",
    "description_texts",
    "description_vector",
    "likes_learned",
    "paper_vectors",
    "papers_embed",
    "profile_combine",
    "profile_for",
    "radar_profile_update",
    "word_stats",
]

# Papers embedded and stored per step.
EMBED_CHUNK = 64
# How far the liked papers pull the profile and the 👎 papers push it, against the
# description (weight 1); measured by bench/relevance.py's feedback gain.
UP_WEIGHT = 1.0
DOWN_WEIGHT = 0.5
# A description's English forms against the description itself (`description_combine`);
# measured by bench/relevance.py (Chinese nDCG@10 0.748 at 1, 0.759 at 2).
ENGLISH_WEIGHT = 2.0
# The liked papers' words kept (`likes_learned`): the measured gain is the same from 20 to 80.
LIKED_WORDS_KEPT = 40


def papers_embed(paper_ids: Iterable[int]) -> int:
    """Embed the papers that have no vector yet (from `paper_text`); returns how many."""
    ids = set(paper_ids)
    have = set(PaperEmbedding.objects.filter(paper_id__in=ids).values_list("paper_id", flat=True))
    todo = list(
        Paper.objects.filter(id__in=ids - have)
        .order_by("id")
        .values_list("id", "title", "abstract")
    )
    if not todo:
        return 0
    embedder = get_embedder()
    # Stored a chunk at a time, so a task cut short by its time limit keeps what it did.
    for start in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[start : start + EMBED_CHUNK]
        vectors = embedder.embed(
            [paper_text(title, abstract) for _, title, abstract in chunk], kind="passage"
        )
        PaperEmbedding.objects.bulk_create(
            [
                PaperEmbedding(paper_id=pid, vector=vector, model=embedder.name)
                for (pid, _, _), vector in zip(chunk, vectors, strict=True)
            ],
            ignore_conflicts=True,  # a concurrent run may have embedded some meanwhile
        )
    return len(todo)


def paper_vectors(paper_ids: Iterable[int]) -> dict[int, NDArray[np.float32]]:
    """The stored vectors of these papers by id (a paper not embedded yet is missing)."""
    rows = PaperEmbedding.objects.filter(paper_id__in=list(paper_ids)).values_list(
        "paper_id", "vector"
    )
    return {pid: np.asarray(vector, dtype=np.float32) for pid, vector in rows}


def description_texts(description: str, english: str = "") -> list[str]:
    """What a description is embedded from: itself, plus in English the glossary's terms for
    its Chinese (`radar.crosslingual`) and the English profile's paraphrase when there is one.
    Their weighted mean (`description_combine`) finds English papers better than the
    Chinese text alone."""
    if not description.strip():
        return []
    texts = [description]
    for extra in (english_gloss(description), english.strip()):
        if extra and extra not in texts:
            texts.append(extra)
    return texts


def description_vector(description: str, english: str = "") -> NDArray[np.float32] | None:
    """The description's query vector from its `description_texts` (`description_combine`)."""
    texts = description_texts(description, english)
    if not texts:
        return None
    return description_combine(get_embedder().embed(texts, kind="query"))


def description_combine(vectors: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """The unit weighted mean of a description's vector (first row) and its English forms'
    (the others, ENGLISH_WEIGHT each: the small multilingual model matches English to English
    papers better than Chinese to English)."""
    weights = np.full(len(vectors), ENGLISH_WEIGHT, dtype=np.float32)
    weights[0] = 1.0
    mean = (weights[:, None] * vectors).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm else None


def profile_for(
    description: str,
    examples: Iterable[str],
    votes: dict[int, int] | None = None,
    *,
    english: str = "",
) -> NDArray[np.float32] | None:
    """A profile vector from a description (with its English paraphrase, if any), example
    paper keys and 👍/👎 votes by paper id."""
    votes = votes or {}
    described = description_vector(description, english)
    example_ids = list(Paper.objects.filter(key__in=list(examples)).values_list("id", flat=True))
    papers_embed([*example_ids, *votes])
    vectors = paper_vectors([*example_ids, *votes])
    liked = [vectors[pid] for pid in example_ids if pid in vectors]
    liked += [vectors[pid] for pid, value in votes.items() if value > 0 and pid in vectors]
    disliked = [vectors[pid] for pid, value in votes.items() if value < 0 and pid in vectors]
    return profile_combine(described, liked, disliked)


def profile_combine(
    described: NDArray[np.float32] | None,
    liked: Sequence[NDArray[np.float32]],
    disliked: Sequence[NDArray[np.float32]],
) -> NDArray[np.float32] | None:
    """Rocchio: the description, plus UP_WEIGHT × the mean of the papers liked (examples and
    👍), minus DOWN_WEIGHT × the mean of the 👎 papers, made unit length (None: nothing to go
    on). The description keeps about half the weight however many papers are rated."""
    if described is None and not liked:
        return None
    profile = np.zeros_like(described if described is not None else liked[0], dtype=np.float32)
    if described is not None:
        profile = profile + described
    if liked:
        profile = profile + UP_WEIGHT * np.mean(liked, axis=0)
    if disliked:
        profile = profile - DOWN_WEIGHT * np.mean(disliked, axis=0)
    norm = float(np.linalg.norm(profile))
    return (profile / norm).astype(np.float32) if norm else None


def likes_learned(
    liked: Sequence[tuple[str, str, str]], stats: WordStats
) -> dict[str, dict[str, float]]:
    """What the liked papers (title, abstract, primary category) have in common, for the
    liked part of the score: the share of them in each primary category, and the largest
    words of their mean tf-idf vector (`radar.words.tfidf_mean`, IDF from `stats`). Only 👍:
    with 👎 papers steering these too, bench/relevance.py's feedback gain was lower."""
    if not liked:
        return {"categories": {}, "words": {}}
    counts = Counter(category for _t, _a, category in liked if category)
    texts = [f"{normalise(title)} {normalise(abstract)}" for title, abstract, _c in liked]
    return {
        "categories": {category: n / len(liked) for category, n in sorted(counts.items())},
        "words": tfidf_mean(texts, stats, LIKED_WORDS_KEPT),
    }


def _liked_papers(radar: Radar, votes: dict[int, int]) -> list[tuple[str, str, str]]:
    """The radar's example papers and the owner's 👍 papers as (title, abstract, category)."""
    liked = Paper.objects.filter(key__in=list(radar.examples)) | Paper.objects.filter(
        id__in=[pid for pid, value in votes.items() if value > 0]
    )
    return list(liked.order_by("id").values_list("title", "abstract", "primary_category"))


# How many of the newest papers the words' IDF is counted over, and for how long it is kept.
WORD_STATS_PAPERS = 2000
WORD_STATS_SECONDS = 6 * 3600


def word_stats() -> WordStats:
    """How common each word is among the newest papers (cached: a day's matching reads it
    once per batch and every preview reads it)."""
    newest = Paper.objects.aggregate(last=Max("id"))["last"] or 0
    # A new key every WORD_STATS_PAPERS // 4 papers: an ingest refreshes the counts.
    key = f"radar:word-stats:v2:{newest // (WORD_STATS_PAPERS // 4)}"
    try:
        stats = cache.get(key)
    except RedisError:
        stats = None
    if isinstance(stats, WordStats):
        return stats
    rows = Paper.objects.order_by("-id").values_list("title", "abstract")[:WORD_STATS_PAPERS]
    stats = WordStats.count(f"{normalise(title)} {normalise(abstract)}" for title, abstract in rows)
    with contextlib.suppress(RedisError):  # without Redis, counted again next time
        cache.set(key, stats, WORD_STATS_SECONDS)
    return stats


def radar_profile_update(radar: Radar) -> None:
    """Recompute the profile from description, examples and the owner's ratings
    (`profile_combine`), its band, and what it learned from the liked papers
    (`likes_learned`).

    Only the owner's feedback steers the radar (a public radar is not steered by strangers).
    """
    votes = dict(
        Feedback.objects.filter(radar=radar, user_id=radar.owner_id).values_list(
            "paper_id", "value"
        )
    )
    understood = understood_for(radar)
    radar.profile = profile_for(
        radar.description, radar.examples, votes, english=understood.text if understood else ""
    )
    radar.sim_floor, radar.sim_ceil = band_for(radar.profile)
    radar.learned = _learned_for(radar, votes)
    radar.profile_updated_at = timezone.now()
    radar.save(update_fields=["profile", "sim_floor", "sim_ceil", "learned", "profile_updated_at"])


def _learned_for(radar: Radar, votes: dict[int, int]) -> dict[str, Any]:
    """`likes_learned` of the radar's liked papers ({} when there are none)."""
    liked = _liked_papers(radar, votes)
    if not liked:
        return {}
    return likes_learned(liked, word_stats())


# How many recent papers calibrate a band, and the fewest that make one worth trusting.
BAND_SAMPLE = 2000
BAND_MIN_PAPERS = 200
# The band in units of (99th percentile - median) of the recent papers' similarities: for an
# English description this reproduces `radar.scoring`'s [SIM_FLOOR, SIM_CEIL] (median ≈ 0.795,
# p99 ≈ 0.855).
BAND_BELOW_MEDIAN = 0.25
BAND_ABOVE_MEDIAN = 1.55


def closeness_quantiles(vector: NDArray[np.float32], sample: int) -> tuple[int, float, float]:
    """How close the newest `sample` embedded papers are to the unit `vector`: how many
    there are, and the median and 99th percentile of their cosines (one query, worked out in
    PostgreSQL: the vectors stay in the database). (0, 0.0, 0.0) without papers."""
    newest = PaperEmbedding.objects.order_by("-paper_id").values("vector")[:sample]
    sql, params = newest.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY 1 - (vector <=> q)),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY 1 - (vector <=> q))"
            f" FROM ({sql}) AS newest, CAST(%s AS vector) AS q",
            [*params, Vector(vector).to_text()],
        )
        count, median, p99 = cursor.fetchone()
    return int(count), float(median or 0.0), float(p99 or 0.0)


def band_for(profile: NDArray[np.float32] | None) -> tuple[float | None, float | None]:
    """The cosine band of this profile from recent papers (None, None: use the default)."""
    if profile is None:
        return None, None
    count, median, p99 = closeness_quantiles(np.asarray(profile, dtype=np.float32), BAND_SAMPLE)
    if count < BAND_MIN_PAPERS:
        return None, None
    spread = max(p99 - median, 0.01)
    return median - BAND_BELOW_MEDIAN * spread, median + BAND_ABOVE_MEDIAN * spread
