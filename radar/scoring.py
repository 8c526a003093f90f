"""Pure radar scoring: which papers of a batch match which radars, with score and reasons.

No database and no Django here: papers and radars come in as `PaperIn` / `RadarIn`, vectors as
float32 arrays, and matches go out as `MatchIn` whose reasons are structured
`(kind, value, points)` triples (worded by `radar.reasons`). Loading and storing is
`radar.matching`'s job.

A match's score runs from 0 to 100 points and is the sum of its parts (capped at 100)::

    meaning   0..50   closeness in meaning of paper and radar profile (below)
    words     0..50   the description's words in the title and abstract (BM25, times the
                      share of the description's rarest words the paper holds)
    title       40    the include query matches and one of its terms is in the title
    abstract    25    … or its terms are only in the abstract
    author      40    one of the paper's authors is followed by the radar
    liked     0..40   like the papers the owner rated 👍 (below)

Meaning and words together are hybrid retrieval: either finds papers the other misses (a
Chinese description is close in meaning to English papers; a rare English term is found
even when the rest of the abstract is about something else).

The 👍 papers (and examples) steer the profile's meaning (`radar.profiles.profile_combine`),
but the small embedder keeps finding papers close in meaning and far in topic. So the radar
also learns from them what they have in common in the two things the embedding misses
(`radar.profiles.likes_learned`): their primary categories, LIKED_CATEGORY points times the
share of them in the paper's primary category; and their words, LIKED_WORDS points per unit
of tf-idf cosine between the paper and their mean (`radar.words.tfidf_mean`), at most
LIKED_WORDS_MAX. bench/relevance.py's feedback gain measures it (P@10 on the second day,
after five ratings: English 0.581 to 0.648, +11.5 %; Chinese 0.593 to 0.644, +8.8 %;
the best any ranking could do is 0.819).

A paper matches when its score reaches the radar's threshold (default 40: a title hit, a
followed author, an abstract hit with some closeness or words, or a paper close in meaning
and sharing some of the description's words) and, without a query
or author hit, when it stands out of the radar's noise: meaning or words above
NOISE_MEANING / NOISE_WORDS. Categories and sources are hard filters, and an exclude phrase
in the title or abstract always wins.

e5 cosine similarities crowd into a narrow band (unrelated texts ≈ 0.77–0.80, related ones
≈ 0.83–0.90), so the raw cosine is rescaled linearly from a band [floor, ceil] to closeness
0..1. Each radar carries its own band (calibrated by `radar.profiles.band_for`: the floor a
little under the median of recent papers, the ceiling well above their 99th percentile),
so NOISE_MEANING sits near the 90th percentile of recent papers for every radar; the fixed
[SIM_FLOOR, SIM_CEIL] — right for English descriptions with multilingual-e5-small — is the
fallback while too few papers are embedded.

The work is done once per batch, for all radars: each query is evaluated over the whole
batch at once on bitsets (one Python int per term, bit i = paper i), followed authors come
from an index, the description words from postings built once, and all similarities from
float32 matrix products taken a block of radars at a time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

# The query language and the words are pure too (no Django; lint-imports holds them to that).
from radar.query import Query, is_substring_term, term_found
from radar.words import Postings, WordStats, bm25_index, runs, saturate, tfidf_index, tokens

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_THRESHOLD",
    "MAX_SCORE",
    "MatchIn",
    "PaperIn",
    "RadarIn",
    "Reason",
    "radars_score_batch",
]

SIM_FLOOR = 0.78
SIM_CEIL = 0.88
# Points of each part of a score (see the module docstring).
W_MEANING = 50.0
W_WORDS = 50.0
W_TITLE = 40.0
W_ABSTRACT = 25.0
W_AUTHOR = 40.0
# The liked part (see the module docstring): all the 👍 papers in the paper's primary category
# are worth as much as a typical paper's closeness in words to them (cosine 0.1 to 0.15 for a
# relevant paper, 0.05 for another match).
LIKED_CATEGORY = 20.0
LIKED_WORDS = 100.0
LIKED_WORDS_MAX = 20.0
# Radars whose liked words are scored over the batch at a time (256 x 5,000 cosines: 10 MB).
LIKED_BLOCK = 256
MAX_SCORE = 100.0
DEFAULT_THRESHOLD = 40.0
# Without a query or author hit, a pair must have this much meaning (closeness 0.45: about
# the 90th percentile of recent papers in the radar's own band) or this many words points.
NOISE_MEANING = 22.5
NOISE_WORDS = 15.0
# A description longer than this many words has its words' BM25 sum divided by its length
# over this (to a power): a long description shares some words with almost any paper.
WORDS_TYPICAL = 6
WORDS_LENGTH_POWER = 1.0
# The words part grows with how much of the description a paper covers: the IDF of the
# description's words it holds over that of its WORDS_COVER_RAREST rarest words (synonyms and
# glossary terms never all match), capped at 1, to the power WORDS_COVER_POWER. A paper
# sharing only generic words ("data", "deep", "learning") of a description about single-cell
# sequencing gets a fraction of their BM25 points. bench/relevance.py: the matches at the
# default threshold went from 30 % to 44 % judged relevant (median 41 to 24 per interest),
# nDCG@10 0.842 to 0.850 (en) and 0.823 to 0.824 (zh), recall@matches 0.82 to 0.77.
WORDS_COVER_RAREST = 3
WORDS_COVER_POWER = 0.5
# A part worth naming as a reason.
REASON_POINTS = 0.5
# Radars per block of the similarity product (5,000 papers x 2,048 radars is 40 MB of float32).
SIM_BLOCK = 2048
# Bitmasks turned into positions at a time (16,384 masks of 5,000 bits are 10 MB as bytes).
_MASKS_CHUNK = 16384


@dataclass(frozen=True, slots=True)
class PaperIn:
    """What scoring needs of a paper: normalised text and authors, categories, source slugs."""

    id: int
    title_norm: str
    abstract_norm: str
    authors: tuple[str, ...] = ()
    categories: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    primary_category: str = ""


@dataclass(frozen=True, slots=True)
class RadarIn:
    """What scoring needs of a radar; `query` and `exclude` are already parsed."""

    id: int
    query: Query | None = None
    exclude: Query | None = None
    # Normalised author name → the name as the user wrote it (for reasons).
    authors: dict[str, str] = field(default_factory=dict)
    categories: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    threshold: float = DEFAULT_THRESHOLD
    # The cosine band rescaled to closeness 0..1 (see the module docstring).
    sim_floor: float = SIM_FLOOR
    sim_ceil: float = SIM_CEIL
    # The description's words as `radar.words.tokens` (English, with a Chinese
    # description's English terms), for the words part of the score.
    words: tuple[str, ...] = ()
    # Learned from the 👍 papers (`radar.profiles.likes_learned`): the share of them in each
    # primary category, and their mean tf-idf vector (its largest words).
    liked_categories: dict[str, float] = field(default_factory=dict)
    liked_words: dict[str, float] = field(default_factory=dict)


# A reason as stored on a Match: (kind, value, points), e.g. ("title", "prompt injection",
# 40.0) or ("meaning", 38.5, 38.5). Stored structured rather than as text so each reader sees
# it in their own language; matches stored before scores had parts hold (kind, value) pairs.
Reason = tuple[str, str | float, float]


class MatchIn(NamedTuple):
    """A match to store: radar, paper, score and the reasons (a tuple: cheap by the million)."""

    radar_id: int
    paper_id: int
    score: float
    reasons: tuple[Reason, ...]


class _PaperIndex:
    """The batch's papers as bitmasks (bit i = paper i) by term, category, source and author.

    Python ints serve as bitsets: an AND or OR over 5,000 papers is one operation, so a
    radar's whole query is evaluated on the batch in a few microseconds.
    """

    def __init__(self, papers: Sequence[PaperIn], radars: Sequence[RadarIn]) -> None:
        self.papers = papers
        self.n = len(papers)
        self.universe = (1 << self.n) - 1
        terms: set[str] = set()
        for radar in radars:
            for query in (radar.query, radar.exclude):
                if query is not None:
                    terms.update(query.all_terms)
        # Only the words some term uses are indexed (with the plurals a last word may take).
        needed: set[str] = set()
        for term in terms:
            if not is_substring_term(term):
                words = term.split(" ")
                needed.update(words)
                needed.update((words[-1] + "s", words[-1] + "es"))
        # Every index maps a key to the bitmask of the papers that have it.
        title_words: dict[str, int] = {}
        abstract_words: dict[str, int] = {}
        self._categories: dict[str, int] = {}
        self._sources: dict[str, int] = {}
        self._authors: dict[str, int] = {}
        for p, paper in enumerate(papers):
            bit = 1 << p
            for index, keys in (
                (title_words, needed.intersection(paper.title_norm.split())),
                (abstract_words, needed.intersection(paper.abstract_norm.split())),
                (self._categories, paper.categories),
                (self._sources, paper.sources),
                (self._authors, paper.authors),
            ):
                for key in keys:
                    index[key] = index.get(key, 0) | bit
        # term → (title mask, abstract mask, either)
        self.terms: dict[str, tuple[int, int, int]] = {}
        for term in terms:
            title = self._term_mask(term, title_words, lambda paper: paper.title_norm)
            abstract = self._term_mask(term, abstract_words, lambda paper: paper.abstract_norm)
            self.terms[term] = (title, abstract, title | abstract)
        self._excludes: dict[Query, int] = {}

    def mask(self, positions: Iterable[int]) -> int:
        """A bitmask with the given bits set."""
        mask = 0
        for p in positions:
            mask |= 1 << p
        return mask

    def _table(self, masks: Sequence[int]) -> NDArray[np.uint8]:
        """The masks as rows of bytes (bit i of a mask: bit i % 8 of byte i // 8)."""
        width = (self.n + 7) // 8
        table = np.frombuffer(b"".join(m.to_bytes(width, "little") for m in masks), np.uint8)
        return table.reshape(len(masks), width)

    def bits_at(
        self, masks: Sequence[int], rows: NDArray[np.int64], papers: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        """Whether paper `papers[i]`'s bit is set in `masks[rows[i]]`, for each i."""
        bytes_at = self._table(masks)[rows, papers >> 3]
        is_set: NDArray[np.bool_] = (bytes_at >> (papers & 7)) & 1 == 1
        return is_set

    def positions_of(self, masks: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The set bits of each mask, mask after mask and lowest first: for each bit, the
        index of its mask and its position."""
        owners, positions = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for start in range(0, len(masks), _MASKS_CHUNK):
            table = self._table(masks[start : start + _MASKS_CHUNK])
            # The bytes that are not 0, then their bits (flatnonzero: faster than 2-d nonzero).
            owner, byte = np.divmod(np.flatnonzero(table), table.shape[1])
            bits = np.unpackbits(table[owner, byte], bitorder="little")
            which, bit = np.divmod(np.flatnonzero(bits), 8)
            owners.append(owner[which] + start)
            positions.append(byte[which] * 8 + bit)
        return np.concatenate(owners), np.concatenate(positions)

    def bools(self, mask: int) -> NDArray[np.bool_]:
        """`mask` as one boolean per paper."""
        raw = np.frombuffer(mask.to_bytes((self.n + 7) // 8, "little"), dtype=np.uint8)
        return np.unpackbits(raw, bitorder="little")[: self.n].view(np.bool_)

    def _term_mask(
        self, term: str, words: dict[str, int], text_of: Callable[[PaperIn], str]
    ) -> int:
        if is_substring_term(term):
            candidates = self.universe
        else:
            # Papers with every word (the last one may be plural), then the exact phrase.
            parts = term.split(" ")
            last = parts[-1]
            candidates = words.get(last, 0) | words.get(last + "s", 0) | words.get(last + "es", 0)
            for word in parts[:-1]:
                candidates &= words.get(word, 0)
            if len(parts) == 1:
                return candidates
        return self.mask(
            p
            for p in self.positions(candidates).tolist()
            if term_found(term, f" {text_of(self.papers[p])} ")
        )

    def allowed(self, radar: RadarIn) -> int:
        """The papers the radar's hard filters let through: categories, sources, excludes."""
        allowed = self.universe
        if radar.categories:
            allowed &= self._any(self._categories, radar.categories)
        if radar.sources and allowed:
            allowed &= self._any(self._sources, radar.sources)
        if radar.exclude is not None and allowed:
            excluded = self._excludes.get(radar.exclude)
            if excluded is None:
                excluded = self.query(radar.exclude)
                self._excludes[radar.exclude] = excluded
            allowed &= ~excluded
        return allowed

    def query(self, query: Query) -> int:
        """The papers the query matches (title or abstract)."""
        terms = self.terms
        return query.mask([terms[t][2] for t in query.all_terms], self.universe)

    def followed(self, authors: Iterable[str]) -> int:
        """The papers by any of these (normalised) authors."""
        return self._any(self._authors, authors)

    @staticmethod
    def _any(index: dict[str, int], keys: Iterable[str]) -> int:
        mask = 0
        for key in keys:
            mask |= index.get(key, 0)
        return mask

    def term_papers(self, terms: Iterable[str]) -> dict[str, tuple[frozenset[int], frozenset[int]]]:
        """For each term, the papers with it in the title and those with it in the abstract,
        as sets: testing one paper's bit in a 5,000-bit int costs a shift of the whole int."""
        terms = list(terms)
        masks = [mask for term in terms for mask in self.terms[term][:2]]
        owner, positions = self.positions_of(masks)
        ends = np.searchsorted(owner, np.arange(len(masks) + 1)).tolist()
        sets = [frozenset(positions[a:b].tolist()) for a, b in zip(ends, ends[1:], strict=False)]
        return {term: (sets[2 * i], sets[2 * i + 1]) for i, term in enumerate(terms)}

    def positions(self, mask: int) -> NDArray[np.int64]:
        """The set bits of `mask` as an index array, lowest first."""
        if mask.bit_count() > 16:
            return np.flatnonzero(self.bools(mask))
        out = []
        while mask:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return np.array(out, dtype=np.int64)


# Kinds of bonus a pair can carry, as bit flags.
_TITLE, _ABSTRACT, _AUTHOR = 1, 2, 4


def _hit_pairs(
    index: _PaperIndex, radars: Sequence[RadarIn], allowed: Sequence[int]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int8], list[int]]:
    """The (paper, radar) pairs with a phrase or author hit, ordered by radar, with their
    kinds of bonus as flags; and per radar, the bitmask of its papers with a hit."""
    # Per radar, masks of the papers its query matches in the title, only in the abstract,
    # and by a followed author; turned into pairs one run of equal flags at a time.
    hit_masks = [0] * len(radars)
    runs: list[int] = []
    runs_r: list[int] = []
    runs_flags: list[int] = []
    for r, radar in enumerate(radars):
        if not allowed[r] or (radar.query is None and not radar.authors):
            continue
        titled = abstract_only = by_author = 0
        if radar.query is not None:
            hits = index.query(radar.query) & allowed[r]
            if hits:
                # A paper matching only through NOT (`NOT survey`) has no term to name and
                # earns no bonus.
                in_title = in_abstract = 0
                terms = radar.query.all_terms
                for i in radar.query.positive:
                    title_mask, abstract_mask, _either = index.terms[terms[i]]
                    in_title |= title_mask
                    in_abstract |= abstract_mask
                titled = hits & in_title
                abstract_only = hits & in_abstract & ~titled
        if radar.authors:
            by_author = index.followed(radar.authors) & allowed[r]
        hit_masks[r] = titled | abstract_only | by_author
        by_flag: tuple[tuple[int, int], ...]
        if by_author:
            by_flag = (
                (titled & ~by_author, _TITLE),
                (titled & by_author, _TITLE | _AUTHOR),
                (abstract_only & ~by_author, _ABSTRACT),
                (abstract_only & by_author, _ABSTRACT | _AUTHOR),
                (by_author & ~titled & ~abstract_only, _AUTHOR),
            )
        else:
            by_flag = ((titled, _TITLE), (abstract_only, _ABSTRACT))
        for mask, flag in by_flag:
            if mask:
                runs.append(mask)
                runs_r.append(r)
                runs_flags.append(flag)
    run_of, pair_p = index.positions_of(runs)
    pair_r = np.array(runs_r, dtype=np.int64)[run_of]
    flags = np.array(runs_flags, dtype=np.int8)[run_of]
    return pair_p, pair_r, flags, hit_masks


def radars_score_batch(
    papers: Sequence[PaperIn],
    radars: Sequence[RadarIn],
    paper_vectors: NDArray[np.float32] | None = None,
    radar_profiles: NDArray[np.float32] | None = None,
    stats: WordStats | None = None,
) -> list[MatchIn]:
    """Every (radar, paper) pair reaching its radar's threshold, with score and reasons.

    `paper_vectors` has one unit row per paper, `radar_profiles` one per radar (a zero row
    for a radar without a profile); either may be None to score on phrases and authors only.
    `stats` gives the words' IDF (default: counted over this batch).
    """
    if not papers or not radars:
        return []
    index = _PaperIndex(papers, radars)
    n_radars = len(radars)
    allowed = [index.allowed(radar) for radar in radars]

    pair_p, pair_r, flags, hit_masks = _hit_pairs(index, radars, allowed)

    if paper_vectors is None or radar_profiles is None:
        # No vectors: no closeness (a radar with threshold <= 0 takes every paper).
        paper_vectors = np.zeros((len(papers), 1), dtype=np.float32)
        radar_profiles = np.zeros((n_radars, 1), dtype=np.float32)
    paper_vectors = np.asarray(paper_vectors, dtype=np.float32)
    radar_profiles = np.asarray(radar_profiles, dtype=np.float32)
    thresholds = np.array([radar.threshold for radar in radars], dtype=np.float32)
    floors = np.array([radar.sim_floor for radar in radars], dtype=np.float32)
    widths = np.array([max(radar.sim_ceil - radar.sim_floor, 1e-3) for radar in radars], np.float32)
    has_profile = np.abs(radar_profiles).sum(axis=1) > 0
    # A radar that learned from 👍 papers may lift any pair out of the noise over its threshold.
    learned = np.array([bool(r.liked_categories or r.liked_words) for r in radars], np.bool_)
    # The cosine at which meaning alone reaches the threshold and the noise floor (never, for
    # more than W_MEANING points or without a profile); the noise floor alone if it learned.
    alone = np.where(learned, NOISE_MEANING, np.maximum(thresholds, NOISE_MEANING)) / W_MEANING
    raw_alone = np.where(alone > 1, np.inf, floors + alone * widths).astype(np.float32)
    raw_alone[~has_profile] = np.inf
    raw_alone[thresholds <= 0] = -np.inf

    def meaning_of(cos: NDArray[np.float32], r: NDArray[np.int64] | int) -> NDArray[np.float32]:
        """Meaning points of cosines to radar(s) `r` (one radar, or one per cosine)."""
        close = np.clip((cos - floors[r]) / widths[r], 0.0, 1.0) * W_MEANING
        return np.where(has_profile[r], close, 0.0).astype(np.float32)

    # The description's words: BM25 postings of the batch, built once for every radar.
    vocabulary = {word for radar in radars for word in radar.words}
    texts: list[str] = []
    tokenised: list[list[str]] = []
    if vocabulary or learned.any():
        texts = [f"{paper.title_norm} {paper.abstract_norm}" for paper in papers]
        tokenised = [tokens(text) for text in texts]
        stats = stats or WordStats.count(texts)
    postings = None
    if vocabulary and stats is not None:
        postings = bm25_index(texts, vocabulary, stats, tokenised=tokenised)
    described = _RadarWords(radars, postings, stats)

    # A block of radars at a time (5,000 x 100,000 similarities in one piece would be 2 GB):
    # the cosine and words points of every hit pair; and the pairs without a hit that pass,
    # on meaning alone (anywhere) or on meaning and words together (only where the words
    # are). Pairs are keyed radar * papers + paper; hit pairs are ordered by radar already,
    # so each block's are one slice.
    n = len(papers)
    cosine = np.zeros(len(pair_p), dtype=np.float32)
    words = np.zeros(len(pair_p), dtype=np.float32)
    # Per radar, the papers a pair without a hit may come from (filters passed, no hit).
    open_masks = [allowed[r] & ~hit_masks[r] for r in range(n_radars)]
    # All pairs to score: the hit pairs, then each block's pairs without a hit that pass.
    all_p, all_r, all_cos, all_words = [pair_p], [pair_r], [cosine], [words]
    for start in range(0, n_radars, SIM_BLOCK):
        stop = min(start + SIM_BLOCK, n_radars)
        sims = paper_vectors @ radar_profiles[start:stop].T
        word_keys, word_points = described.points(start, stop, n)
        lo, hi = np.searchsorted(pair_r, [start, stop])
        cosine[lo:hi] = sims[pair_p[lo:hi], pair_r[lo:hi] - start]
        words[lo:hi] = _points_at(word_keys, word_points, pair_r[lo:hi] * n + pair_p[lo:hi])
        # (flatnonzero: np.nonzero on a 2-d array is five times slower)
        alone_p, alone_r = np.divmod(np.flatnonzero(sims >= raw_alone[start:stop]), stop - start)
        word_r, word_p = np.divmod(word_keys, n)
        close = meaning_of(sims[word_p, word_r - start], word_r)
        together = ((close + word_points >= thresholds[word_r] - 1e-4) | learned[word_r]) & (
            (close >= NOISE_MEANING) | (word_points >= NOISE_WORDS)
        )
        keys = np.union1d((alone_r + start) * n + alone_p, word_keys[together])
        block_r, block_p = np.divmod(keys, n)
        is_open = index.bits_at(open_masks[start:stop], block_r - start, block_p)
        keys, block_r, block_p = keys[is_open], block_r[is_open], block_p[is_open]
        all_p.append(block_p)
        all_r.append(block_r)
        all_cos.append(sims[block_p, block_r - start])
        all_words.append(_points_at(word_keys, word_points, keys))
    pair_p, pair_r = np.concatenate(all_p), np.concatenate(all_r)
    cosine, words = np.concatenate(all_cos), np.concatenate(all_words)
    flags = np.concatenate([flags, np.zeros(len(pair_p) - len(flags), np.int8)])
    meaning = meaning_of(cosine, pair_r)

    bonus = (
        W_TITLE * ((flags & _TITLE) > 0)
        + W_ABSTRACT * ((flags & _ABSTRACT) > 0)
        + W_AUTHOR * ((flags & _AUTHOR) > 0)
    )
    liked = _liked_points(papers, radars, learned, pair_p, pair_r, (texts, tokenised, stats))
    score = np.minimum(bonus + meaning + words + liked, MAX_SCORE)
    passing = np.flatnonzero(score >= thresholds[pair_r] - 1e-4)
    passing = passing[np.lexsort((pair_r[passing], pair_p[passing]))]

    # A query with one positive term names it the same way for every paper it hits; one
    # with more names those the paper has, from each term's papers looked up once per radar.
    single: dict[int, str] = {}
    for r, radar in enumerate(radars):
        if radar.query is not None and len(radar.query.positive) == 1:
            single[r] = radar.query.all_terms[radar.query.positive[0]]
    term_papers = index.term_papers(
        {
            term
            for r, radar in enumerate(radars)
            if radar.query is not None and r not in single
            for term in radar.query.terms()
        }
    )
    phrase_terms: dict[int, list[tuple[str, frozenset[int], frozenset[int]]]] = {}
    paper_ids = [paper.id for paper in papers]
    # The description's words each match names: only for pairs whose words part is named.
    words_named = np.round(words[passing].astype(np.float64), 1)
    named = passing[words_named >= REASON_POINTS]
    found_words = iter(described.found(pair_r[named], pair_p[named]))
    liked_named = np.round(liked[passing].astype(np.float64), 1).tolist()
    matches: list[MatchIn] = []
    # The matches are small tuples without cycles: by the hundred thousand they would make
    # the cyclic garbage collector walk every object of the process again and again.
    with _collector_paused():
        for p, r, flag, sc, m, w, li in zip(
            pair_p[passing].tolist(),
            pair_r[passing].tolist(),
            flags[passing].tolist(),
            np.round(score[passing].astype(np.float64), 1).tolist(),
            np.round(meaning[passing].astype(np.float64), 1).tolist(),
            words_named.tolist(),
            liked_named,
            strict=True,
        ):
            radar = radars[r]
            reasons: list[Reason] = []
            if flag & _TITLE and r in single:
                reasons = [("title", single[r], W_TITLE)]
            elif flag & _ABSTRACT and r in single:
                reasons = [("abstract", single[r], W_ABSTRACT)]
            elif flag & (_TITLE | _ABSTRACT) and radar.query is not None:
                found = phrase_terms.get(r)
                if found is None:
                    found = [(term, *term_papers[term]) for term in radar.query.terms()]
                    phrase_terms[r] = found
                reasons = _phrase_reasons(found, p)
            if flag & _AUTHOR:
                names = radar.authors
                reasons += [("author", names[a], W_AUTHOR) for a in papers[p].authors if a in names]
            if w >= REASON_POINTS:
                reasons.append(("words", next(found_words), w))
            if m >= REASON_POINTS:
                reasons.append(("meaning", m, m))
            if li >= REASON_POINTS:
                reasons.append(("liked", li, li))
            matches.append(MatchIn(radar.id, paper_ids[p], sc, tuple(reasons)))
    return matches


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block (left as it was after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _RadarWords:
    """Every radar's description words as rows of the batch's postings: the words part of
    each pair's score, a block of radars at a time, and the words each match names."""

    def __init__(
        self, radars: Sequence[RadarIn], postings: Postings | None, stats: WordStats | None
    ) -> None:
        self.postings = postings
        # All radars' words one after the other: radar r's are [bounds[r], bounds[r + 1]).
        self.words = [word for radar in radars for word in radar.words]
        counts = np.array([len(radar.words) for radar in radars], dtype=np.int64)
        self.bounds = np.concatenate([[0], np.cumsum(counts)])
        self.owners = np.repeat(np.arange(len(radars)), counts)
        self.rows = np.array(
            [postings.rows[word] for word in self.words] if postings else [], dtype=np.int64
        )
        # A long description's BM25 sum is divided by its length over WORDS_TYPICAL.
        self.divisors = np.maximum(1.0, (counts / WORDS_TYPICAL) ** WORDS_LENGTH_POWER)
        # Each word's IDF, and each description's mass: the IDF of its rarest words among
        # those the reference papers have (a word none has, a typo or a name, can hardly be
        # covered; all of them when it has no other).
        self.idfs = np.array(
            [stats.idf(word) for word in self.words] if stats else [], dtype=np.float64
        )
        self.masses = np.ones(len(radars), dtype=np.float64)
        if stats is not None:
            known = np.array([bool(stats.df.get(word)) for word in self.words], dtype=np.bool_)
            some = np.bincount(self.owners, weights=known, minlength=len(radars)) > 0
            used = known | ~some[self.owners]
            # Each radar's words in a row (owners ascend), the used ones first, rarest first:
            # a word's place in its row is its rank.
            order = np.lexsort((-self.idfs, ~used, self.owners))
            rank = np.arange(len(order)) - self.bounds[self.owners[order]]
            top = used[order] & (rank < WORDS_COVER_RAREST)
            mass = np.bincount(
                self.owners[order][top], weights=self.idfs[order][top], minlength=len(radars)
            )
            self.masses = np.maximum(mass, 1e-9)

    def points(
        self, start: int, stop: int, n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The words points of radars start..stop-1 where they are not 0, as pair keys
        (radar * n + paper, ascending) and points."""
        lo, hi = self.bounds[start], self.bounds[stop]
        if self.postings is None or lo == hi:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        word, paper, share = self.postings.gather(self.rows[lo:hi])
        keys = self.owners[lo:hi][word] * n + paper
        # A stable sort keeps each pair's words in the radar's order, and bincount adds them
        # in that order: the same sums, to the last bit, as adding word after word.
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        first = np.ones(len(keys), dtype=np.bool_)
        first[1:] = keys[1:] != keys[:-1]
        group = np.cumsum(first) - 1
        total = np.bincount(group, weights=share[order])
        covered = np.bincount(group, weights=self.idfs[lo:hi][word][order])
        keys = keys[first]
        cover = np.minimum(1.0, covered / self.masses[keys // n]) ** WORDS_COVER_POWER
        share = saturate(total / self.divisors[keys // n]) * cover
        held = share != 0
        return keys[held], (W_WORDS * share[held]).astype(np.float32)

    def found(self, radars: NDArray[np.int64], papers: NDArray[np.int64]) -> list[str]:
        """For each (radar, paper) pair, the radar's words the paper holds, in the radar's
        order, joined by commas."""
        if self.postings is None or not len(radars):
            return [""] * len(radars)
        first = self.bounds[radars]
        pair, at = runs(first, self.bounds[radars + 1] - first)
        held = self.postings.contains(self.rows[at], papers[pair])
        words = [self.words[i] for i in at[held].tolist()]
        ends = np.searchsorted(pair[held], np.arange(len(radars) + 1)).tolist()
        return [", ".join(words[a:b]) for a, b in zip(ends, ends[1:], strict=False)]


def _liked_points(
    papers: Sequence[PaperIn],
    radars: Sequence[RadarIn],
    learned: NDArray[np.bool_],
    pair_p: NDArray[np.int64],
    pair_r: NDArray[np.int64],
    words: tuple[list[str], list[list[str]], WordStats | None],
) -> NDArray[np.float32]:
    """The liked part of each (paper, radar) pair: the share of the radar's 👍 papers in the
    paper's primary category, and the paper's tf-idf cosine to their mean, in points. `words`:
    the batch's texts, their tokens and the word statistics, as the words part has them."""
    points = np.zeros(len(pair_p), dtype=np.float32)
    at = np.flatnonzero(learned[pair_r])
    if not len(at):
        return points
    owners = np.unique(pair_r[at]).tolist()
    # Categories: (radar, category) keys with their shares, looked up for every pair at once.
    category_ids: dict[str, int] = {}
    paper_category = np.array(
        [category_ids.setdefault(paper.primary_category, len(category_ids)) for paper in papers],
        dtype=np.int64,
    )
    table = {
        r * len(category_ids) + category_ids[category]: share
        for r in owners
        for category, share in radars[r].liked_categories.items()
        if category in category_ids
    }
    if table:
        keys = np.array(sorted(table), dtype=np.int64)
        in_category = np.array([table[key] for key in keys.tolist()], dtype=np.float32)
        wanted = pair_r[at] * len(category_ids) + paper_category[pair_p[at]]
        found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        points[at] = LIKED_CATEGORY * np.where(keys[found] == wanted, in_category[found], 0.0)
    # Words: the cosines of a block of radars over the whole batch at once (one bincount of
    # their words' postings), read at their pairs.
    vocabulary = {word for r in owners for word in radars[r].liked_words}
    if not vocabulary:
        return points
    texts, tokenised, stats = words
    if stats is None:
        return points
    index = tfidf_index(texts, vocabulary, stats, tokenised=tokenised)
    # Each owner's words as (owner's place in `owners`, postings row, value), owner by owner.
    counts = [len(radars[r].liked_words) for r in owners]
    word_owner = np.repeat(np.arange(len(owners), dtype=np.int64), counts)
    word_row = np.fromiter(
        (index.rows[w] for r in owners for w in radars[r].liked_words),
        dtype=np.int64,
        count=len(word_owner),
    )
    word_value = np.fromiter(
        (v for r in owners for v in radars[r].liked_words.values()),
        dtype=np.float64,
        count=len(word_owner),
    )
    n = len(papers)
    at = at[np.argsort(pair_r[at], kind="stable")]
    pair_owner = np.searchsorted(np.array(owners, dtype=np.int64), pair_r[at])
    for first in range(0, len(owners), LIKED_BLOCK):
        last = min(first + LIKED_BLOCK, len(owners))
        lo, hi = np.searchsorted(word_owner, [first, last])
        owner, positions, shares = index.gather(word_row[lo:hi])
        cosine = np.bincount(
            (word_owner[lo:hi][owner] - first) * n + positions,
            weights=word_value[lo:hi][owner] * shares,
            minlength=(last - first) * n,
        )
        a, b = np.searchsorted(pair_owner, [first, last])
        mine = at[a:b]
        near = cosine[(pair_owner[a:b] - first) * n + pair_p[mine]]
        points[mine] += np.minimum(LIKED_WORDS * near, LIKED_WORDS_MAX).astype(np.float32)
    return points


def _points_at(
    keys: NDArray[np.int64], points: NDArray[np.float32], wanted: NDArray[np.int64]
) -> NDArray[np.float32]:
    """The points at `wanted` keys of a sparse row (ascending `keys` → `points`; 0 elsewhere)."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=np.float32)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, points[at], 0.0).astype(np.float32)


def _phrase_reasons(
    terms: Sequence[tuple[str, frozenset[int], frozenset[int]]], p: int
) -> list[Reason]:
    """The positive terms in paper `p`'s title, else those in its abstract (`terms`: each
    with the papers having it in the title and those having it in the abstract)."""
    kind, points = "title", W_TITLE
    found = [term for term, in_title, _in_abstract in terms if p in in_title]
    if not found:
        kind, points = "abstract", W_ABSTRACT
        found = [term for term, _in_title, in_abstract in terms if p in in_abstract]
    return [(kind, term, 0.0 if i else points) for i, term in enumerate(found)]
