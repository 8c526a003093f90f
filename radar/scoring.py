"""Pure radar scoring: which papers of a batch match which radars, with score and reasons.

No database and no Django here: papers and radars come in as `PaperIn` / `RadarIn`, vectors as
float32 arrays, and matches go out as `MatchIn` whose reasons are structured `(kind, value)`
pairs (worded by `radar.reasons`). Loading and storing is `radar.matching`'s job.

A paper's score for a radar is the sum of (see `radars_score_batch`)::

    semantic        0..1   similarity of paper and radar profile, rescaled (below)
    + 0.5                  the include query matches and one of its terms is in the title
    + 0.3                  … or its terms are only in the abstract
    + 0.5                  one of the paper's authors is followed by the radar

and the paper matches when the score reaches the radar's threshold (default 0.5: a title
hit, a followed author, or a paper close to the profile on its own; an abstract hit needs
some closeness as well). Categories and sources are hard filters, and an exclude phrase in
the title or abstract always wins.

e5 cosine similarities crowd into a narrow band (unrelated texts ≈ 0.77–0.80, related ones
≈ 0.83–0.90), so the raw cosine is rescaled linearly from a band [floor, ceil] to [0, 1].
Each radar carries its own band (calibrated by `radar.profiles.band_for`); the fixed
[SIM_FLOOR, SIM_CEIL] — right for English descriptions with multilingual-e5-small — is the
fallback while too few papers are embedded.

The work is done once per batch, for all radars: each query is evaluated over the whole
batch at once on bitsets (one Python int per term, bit i = paper i), followed authors come
from an index, and all similarities from float32 matrix products taken a block of radars at a
time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

# The query language is pure too (no Django; lint-imports holds both to that).
from radar.query import Query, is_substring_term, term_found

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["MatchIn", "PaperIn", "RadarIn", "Reason", "radars_score_batch"]

SIM_FLOOR = 0.78
SIM_CEIL = 0.88
W_TITLE = 0.5
W_ABSTRACT = 0.3
W_AUTHOR = 0.5
# Semantic closeness at or above this is worth naming as a reason.
SIM_REASON = 0.25
# Radars per block of the similarity product (5,000 papers x 2,048 radars is 40 MB of float32).
SIM_BLOCK = 2048


@dataclass(frozen=True, slots=True)
class PaperIn:
    """What scoring needs of a paper: normalised text and authors, categories, source slugs."""

    id: int
    title_norm: str
    abstract_norm: str
    authors: tuple[str, ...] = ()
    categories: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()


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
    threshold: float = 0.5
    # The cosine band rescaled to closeness 0..1 (see the module docstring).
    sim_floor: float = SIM_FLOOR
    sim_ceil: float = SIM_CEIL


# A reason as stored on a Match: (kind, value), e.g. ("title", "prompt injection"). Stored
# structured rather than as text so each reader sees it in their own language.
Reason = tuple[str, str | float]


class MatchIn(NamedTuple):
    """A match to store: radar, paper, score and the reasons (a tuple: cheap by the million)."""

    radar_id: int
    paper_id: int
    score: float
    reasons: tuple[Reason, ...]


def _semantic(
    similarity: NDArray[np.float32], floor: NDArray[np.float64], width: NDArray[np.float64]
) -> NDArray[np.float64]:
    return np.clip((similarity - floor) / width, 0.0, 1.0)


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
        self._term_sets: dict[str, tuple[frozenset[int], frozenset[int]]] = {}

    def mask(self, positions: Iterable[int]) -> int:
        """A bitmask with the given bits set."""
        mask = 0
        for p in positions:
            mask |= 1 << p
        return mask

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

    def term_papers(self, term: str) -> tuple[frozenset[int], frozenset[int]]:
        """The papers with `term` in the title, and in the abstract, as sets: testing one
        paper's bit in a 5,000-bit int costs a shift of the whole int."""
        found = self._term_sets.get(term)
        if found is None:
            title, abstract, _either = self.terms[term]
            found = (
                frozenset(self.positions(title).tolist()),
                frozenset(self.positions(abstract).tolist()),
            )
            self._term_sets[term] = found
        return found

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


def radars_score_batch(
    papers: Sequence[PaperIn],
    radars: Sequence[RadarIn],
    paper_vectors: NDArray[np.float32] | None = None,
    radar_profiles: NDArray[np.float32] | None = None,
) -> list[MatchIn]:
    """Every (radar, paper) pair reaching its radar's threshold, with score and reasons.

    `paper_vectors` has one unit row per paper, `radar_profiles` one per radar (a zero row
    for a radar without a profile); either may be None to score on phrases and authors only.
    """
    if not papers or not radars:
        return []
    index = _PaperIndex(papers, radars)
    n_radars = len(radars)
    allowed = [index.allowed(radar) for radar in radars]

    # Phrase and author hits: per radar, masks of the papers its query matches in the title,
    # only in the abstract, and by a followed author; turned into (paper, radar, flags) rows
    # one run of equal flags at a time.
    hit_masks = [0] * n_radars
    runs_p: list[NDArray[np.int64]] = []
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
        runs: tuple[tuple[int, int], ...]
        if by_author:
            runs = (
                (titled & ~by_author, _TITLE),
                (titled & by_author, _TITLE | _AUTHOR),
                (abstract_only & ~by_author, _ABSTRACT),
                (abstract_only & by_author, _ABSTRACT | _AUTHOR),
                (by_author & ~titled & ~abstract_only, _AUTHOR),
            )
        else:
            runs = ((titled, _TITLE), (abstract_only, _ABSTRACT))
        for mask, flag in runs:
            if mask:
                runs_p.append(index.positions(mask))
                runs_r.append(r)
                runs_flags.append(flag)

    lengths = [len(run) for run in runs_p]
    pair_p = np.concatenate(runs_p) if runs_p else np.zeros(0, np.int64)
    pair_r = np.repeat(np.array(runs_r, dtype=np.int64), lengths)
    flags = np.repeat(np.array(runs_flags, dtype=np.int8), lengths)

    thresholds = np.array([radar.threshold for radar in radars], dtype=np.float64)
    if paper_vectors is None or radar_profiles is None:
        # No vectors: every similarity is 0 (a radar with threshold <= 0 takes every paper).
        paper_vectors = np.zeros((len(papers), 1), dtype=np.float32)
        radar_profiles = np.zeros((n_radars, 1), dtype=np.float32)
    paper_vectors = np.asarray(paper_vectors, dtype=np.float32)
    radar_profiles = np.asarray(radar_profiles, dtype=np.float32)
    floors = np.array([radar.sim_floor for radar in radars], dtype=np.float64)
    widths = np.array([max(radar.sim_ceil - radar.sim_floor, 1e-3) for radar in radars])
    # The cosine at which closeness alone reaches each threshold (never, above 1).
    raw_threshold = np.where(
        thresholds > 1, np.inf, floors + np.maximum(thresholds, 0) * widths
    ).astype(np.float32)
    raw_threshold[thresholds <= 0] = -np.inf

    # Similarities a block of radars at a time (5,000 x 100,000 in one piece would be 2 GB):
    # the cosine of every hit pair, and the pairs close enough to match on their own. Pairs
    # are ordered by radar already, so each block's pairs are one slice.
    cosine = np.zeros(len(pair_p), dtype=np.float32)
    extra: list[tuple[int, int, float]] = []
    for start in range(0, n_radars, SIM_BLOCK):
        stop = min(start + SIM_BLOCK, n_radars)
        sims = paper_vectors @ radar_profiles[start:stop].T
        lo, hi = np.searchsorted(pair_r, [start, stop])
        cosine[lo:hi] = sims[pair_p[lo:hi], pair_r[lo:hi] - start]
        ps, rs = np.nonzero(sims >= raw_threshold[start:stop])
        for p, r, cos in zip(
            ps.tolist(), (rs + start).tolist(), sims[ps, rs].tolist(), strict=True
        ):
            # Close enough on its own; pairs already hit are scored above, filtered ones never.
            if (allowed[r] & ~hit_masks[r]) >> p & 1:
                extra.append((p, r, cos))
    if extra:
        pair_p = np.concatenate([pair_p, np.array([e[0] for e in extra], dtype=np.int64)])
        pair_r = np.concatenate([pair_r, np.array([e[1] for e in extra], dtype=np.int64)])
        flags = np.concatenate([flags, np.zeros(len(extra), np.int8)])
        cosine = np.concatenate([cosine, np.array([e[2] for e in extra], dtype=np.float32)])

    closeness = _semantic(cosine, floors[pair_r], widths[pair_r])
    bonus = (
        W_TITLE * ((flags & _TITLE) > 0)
        + W_ABSTRACT * ((flags & _ABSTRACT) > 0)
        + W_AUTHOR * ((flags & _AUTHOR) > 0)
    )
    score = bonus + closeness
    passing = np.flatnonzero(score >= thresholds[pair_r] - 1e-6)
    passing = passing[np.lexsort((pair_r[passing], pair_p[passing]))]

    # A query with one positive term names it the same way for every paper it hits.
    single: dict[int, str] = {}
    for r, radar in enumerate(radars):
        if radar.query is not None and len(radar.query.positive) == 1:
            single[r] = radar.query.all_terms[radar.query.positive[0]]
    paper_ids = [paper.id for paper in papers]
    matches: list[MatchIn] = []
    for p, r, flag, sc, close, cos in zip(
        pair_p[passing].tolist(),
        pair_r[passing].tolist(),
        flags[passing].tolist(),
        np.round(score[passing], 4).tolist(),
        closeness[passing].tolist(),
        np.round(cosine[passing].astype(np.float64), 4).tolist(),
        strict=True,
    ):
        radar = radars[r]
        if flag == _TITLE and r in single and close < SIM_REASON:
            # The common case, kept short: one term, in the title, nothing else.
            matches.append(MatchIn(radar.id, paper_ids[p], sc, (("title", single[r]),)))
            continue
        reasons: list[Reason] = []
        if flag & _TITLE and r in single:
            reasons = [("title", single[r])]
        elif flag & _ABSTRACT and r in single:
            reasons = [("abstract", single[r])]
        elif flag & (_TITLE | _ABSTRACT) and radar.query is not None:
            reasons = _phrase_reasons(index, radar.query, p)
        if flag & _AUTHOR:
            names = radar.authors
            reasons += [("author", names[a]) for a in papers[p].authors if a in names]
        if close >= SIM_REASON:
            reasons.append(("similar", cos))
        matches.append(MatchIn(radar.id, paper_ids[p], sc, tuple(reasons)))
    return matches


def _phrase_reasons(index: _PaperIndex, query: Query, p: int) -> list[Reason]:
    """The query's positive terms in the paper's title, else those in its abstract."""
    title: list[Reason] = []
    abstract: list[Reason] = []
    for i in query.positive:
        term = query.all_terms[i]
        in_title, in_abstract = index.term_papers(term)
        if p in in_title:
            title.append(("title", term))
        elif p in in_abstract:
            abstract.append(("abstract", term))
    return title or abstract
