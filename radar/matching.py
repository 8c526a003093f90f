"""Score new papers against every active radar at once, and store the matches.

A paper's score for a radar is the sum of (see `_score`)::

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
Where the band lies depends on the profile: a Chinese description sits about 0.03 lower
against English papers, with a narrower spread, than the same interest in English. So each
radar gets its own band from the similarities of recent papers to its profile (`band_for`:
just below the median, to well above the 99th percentile), and the fixed [SIM_FLOOR,
SIM_CEIL] — right for English descriptions with multilingual-e5-small — is only the fallback
while too few papers are embedded.

The work is done once per batch, for all radars: each query is evaluated over the whole
batch at once on bitsets (one Python int per term, bit i = paper i), followed authors come
from an index, and all similarities from float32 matrix products taken a block of radars at a
time. Each (radar, paper) is stored once; a replacement never resurfaces a paper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from django.contrib.postgres.search import SearchQuery
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from pgvector.django import CosineDistance

from feeds.models import Paper, PaperSighting
from radar.embedding import DIM, get_embedder, paper_text
from radar.models import Feedback, Match, PaperEmbedding, Radar
from radar.query import Query, QueryError, is_substring_term, normalise, parse, term_found

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "MatchIn",
    "PaperIn",
    "RadarIn",
    "papers_embed",
    "papers_match",
    "radar_profile_update",
    "radars_score_batch",
    "reason_text",
    "reasons_text",
]

SIM_FLOOR = 0.78
SIM_CEIL = 0.88
W_TITLE = 0.5
W_ABSTRACT = 0.3
W_AUTHOR = 0.5
# Semantic closeness at or above this is worth naming as a reason.
SIM_REASON = 0.25
# How hard a 👎 paper pushes the profile away, against the mean of the positive vectors.
DOWN_WEIGHT = 0.3
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

    @classmethod
    def from_radar(cls, radar: Radar) -> RadarIn:
        """The scoring view of a stored radar; a query that no longer parses is ignored."""
        return cls(
            id=radar.pk,
            query=_parse_or_none(radar.include),
            exclude=exclude_query(radar.exclude),
            authors={normalise(a): a for a in radar.authors if normalise(a)},
            categories=frozenset(radar.categories),
            sources=frozenset(radar.sources),
            threshold=radar.threshold,
            sim_floor=radar.sim_floor if radar.sim_floor is not None else SIM_FLOOR,
            sim_ceil=radar.sim_ceil if radar.sim_ceil is not None else SIM_CEIL,
        )


# A reason as stored on a Match: (kind, value), e.g. ("title", "prompt injection"). Stored
# structured rather than as text so each reader sees it in their own language.
Reason = tuple[str, str | float]


class MatchIn(NamedTuple):
    """A match to store: radar, paper, score and the reasons (a tuple: cheap by the million)."""

    radar_id: int
    paper_id: int
    score: float
    reasons: tuple[Reason, ...]


def reason_text(kind: str, value: str | float) -> str:
    """The one place reasons are worded, in the active language."""
    if kind == "title":
        return _("title contains '%(term)s'") % {"term": value}
    if kind == "abstract":
        return _("abstract contains '%(term)s'") % {"term": value}
    if kind == "author":
        return _("follows author %(name)s") % {"name": value}
    if kind == "similar":
        return _("close to your description (%(score).2f)") % {"score": float(value)}
    raise ValueError(f"unknown reason kind {kind!r}")


def reasons_text(reasons: Iterable[Sequence[str | float]]) -> list[str]:
    """Stored reasons as sentences in the active language (unknown kinds are skipped)."""
    out = []
    for kind, value in reasons:
        try:
            out.append(reason_text(str(kind), value))
        except (ValueError, TypeError):
            continue
    return out


def _parse_or_none(text: str) -> Query | None:
    if not text.strip():
        return None
    try:
        return parse(text)
    except QueryError:
        return None


def exclude_query(phrases: Iterable[str]) -> Query | None:
    """One OR query of the exclude phrases, each as an exact (normalised) phrase."""
    terms = [normalise(p) for p in phrases]
    quoted = [f'"{t}"' for t in terms if t]
    return parse(" OR ".join(quoted)) if quoted else None


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


# --- Database side --------------------------------------------------------------------------


EMBED_CHUNK = 64


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


def _vectors(paper_ids: Iterable[int]) -> dict[int, NDArray[np.float32]]:
    rows = PaperEmbedding.objects.filter(paper_id__in=list(paper_ids)).values_list(
        "paper_id", "vector"
    )
    return {pid: np.asarray(vector, dtype=np.float32) for pid, vector in rows}


def radar_profile_update(radar: Radar) -> None:
    """Recompute the profile: mean of description, examples and 👍 papers, minus 👎 papers.

    Only the owner's feedback steers the radar (a public radar is not steered by strangers).
    """
    votes = dict(
        Feedback.objects.filter(radar=radar, user_id=radar.owner_id).values_list(
            "paper_id", "value"
        )
    )
    radar.profile = profile_for(radar.description, radar.examples, votes)
    radar.sim_floor, radar.sim_ceil = band_for(radar.profile)
    radar.profile_updated_at = timezone.now()
    radar.save(update_fields=["profile", "sim_floor", "sim_ceil", "profile_updated_at"])


# How many recent papers calibrate a band, and the fewest that make one worth trusting.
BAND_SAMPLE = 2000
BAND_MIN_PAPERS = 200
# The band in units of (99th percentile - median) of the recent papers' similarities: for an
# English description this reproduces [SIM_FLOOR, SIM_CEIL] (median ≈ 0.795, p99 ≈ 0.855).
BAND_BELOW_MEDIAN = 0.25
BAND_ABOVE_MEDIAN = 1.55


def band_for(profile: NDArray[np.float32] | None) -> tuple[float | None, float | None]:
    """The cosine band of this profile from recent papers (None, None: use the default)."""
    if profile is None:
        return None, None
    recent = list(
        PaperEmbedding.objects.order_by("-paper_id").values_list("vector", flat=True)[:BAND_SAMPLE]
    )
    if len(recent) < BAND_MIN_PAPERS:
        return None, None
    sims = np.asarray(recent, dtype=np.float32) @ np.asarray(profile, dtype=np.float32)
    median, p99 = (float(v) for v in np.percentile(sims, [50, 99]))
    spread = max(p99 - median, 0.01)
    return median - BAND_BELOW_MEDIAN * spread, median + BAND_ABOVE_MEDIAN * spread


def _paper_in(paper: Paper) -> PaperIn:
    return PaperIn(
        id=paper.pk,
        title_norm=normalise(paper.title),
        abstract_norm=normalise(paper.abstract),
        authors=tuple(normalise(a) for a in paper.authors),
        categories=frozenset(paper.categories),
        sources=frozenset(s.source.slug for s in paper.sightings.all()),
    )


def papers_match(paper_ids: Iterable[int]) -> dict[str, int]:
    """Embed, score against every active radar, store new matches; returns counts."""
    ids = sorted(set(paper_ids))
    radars = list(Radar.objects.filter(active=True).order_by("id"))
    if not radars:
        # Nothing to score against (checked before loading any paper: this runs after every
        # poll): embedding waits until a radar exists (its first rescore embeds the window).
        papers_found = Paper.objects.filter(id__in=ids).count()
        return {"papers": papers_found, "embedded": 0, "radars": 0, "matches": 0, "created": 0}
    papers = list(
        Paper.objects.filter(id__in=ids)
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    embedded = papers_embed(ids)
    for radar in radars:
        # A new radar gets its profile the first time it is scored.
        if radar.profile_updated_at is None:
            radar_profile_update(radar)
    vectors = _vectors(ids)
    zero = np.zeros(DIM, dtype=np.float32)
    paper_matrix = np.stack([vectors.get(p.pk, zero) for p in papers]) if papers else None
    radar_matrix = (
        np.stack([zero if r.profile is None else np.asarray(r.profile, np.float32) for r in radars])
        if radars
        else None
    )
    found = radars_score_batch(
        [_paper_in(p) for p in papers],
        [RadarIn.from_radar(r) for r in radars],
        paper_matrix,
        radar_matrix,
    )
    announced = {p.pk: p.announced for p in papers}
    before = Match.objects.filter(paper_id__in=ids).count()
    Match.objects.bulk_create(
        [
            Match(
                radar_id=m.radar_id,
                paper_id=m.paper_id,
                score=m.score,
                reasons=[list(r) for r in m.reasons],
                announced=announced[m.paper_id],
            )
            for m in found
        ],
        ignore_conflicts=True,  # (radar, paper) is matched once: a replacement is not new
    )
    return {
        "papers": len(papers),
        "embedded": embedded,
        "radars": len(radars),
        "matches": len(found),
        # ignore_conflicts leaves no pks to count: an existing (radar, paper) stays as it was.
        "created": Match.objects.filter(paper_id__in=ids).count() - before,
    }


def papers_announced_since(since: date) -> list[int]:
    """Ids of the papers announced on or after `since`."""
    return list(Paper.objects.filter(announced__gte=since).values_list("id", flat=True))


# --- One radar against a window of stored papers (preview and rescoring) ---------------------

# How many of the window's nearest papers by embedding are scored, and how many phrase and
# author hits: the rest cannot reach any sensible threshold on closeness alone.
NEAREST = 400
PHRASE_CANDIDATES = 2000


def window_since(days: int) -> date | None:
    """The first day of the last `days` announcement days that have papers (None: all).

    Counted in days with papers, not calendar days, so a weekend or an install holding
    only the bundled samples still has a week's worth to score.
    """
    if days <= 0:
        return None
    papers = Paper.objects.all()
    since = None
    day = papers.filter(announced__lte=timezone.localdate()).aggregate(last=Max("announced"))[
        "last"
    ]
    for _i in range(days):
        if day is None:
            break
        since = day
        day = papers.filter(announced__lt=day).aggregate(last=Max("announced"))["last"]
    return since


def _window(days: int) -> QuerySet[Paper]:
    papers = Paper.objects.all()
    since = window_since(days)
    if days > 0:
        papers = papers.filter(announced__gte=since) if since else papers.none()
    return papers


def _phrase_tsquery(query: Query | None) -> SearchQuery | None:
    """A full-text query that finds (a superset of) the papers containing a positive term."""
    if query is None:
        return None
    parts = [
        SearchQuery(term, search_type="phrase", config="english")
        for term in query.terms()
        if term.isascii()
    ]
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part
    return combined


def _candidate_ids(
    radar_in: RadarIn, profile: NDArray[np.float32] | None, authors: list[str], days: int
) -> set[int]:
    """Papers of the window that can score for this radar: term hits, authors, nearest."""
    window = _window(days)
    ids: set[int] = set()
    tsquery = _phrase_tsquery(radar_in.query)
    if tsquery is not None:
        ids.update(
            window.filter(search_vector=tsquery)
            .order_by("-announced")
            .values_list("id", flat=True)[:PHRASE_CANDIDATES]
        )
    if authors:
        # Exact names, in the case written and in title case (scoring then compares the
        # normalised names, as for new papers).
        variants = sorted({form for a in authors for form in (a, a.title())})
        ids.update(window.filter(authors__overlap=variants).values_list("id", flat=True)[:500])
    if profile is not None:
        nearest = PaperEmbedding.objects.filter(paper__in=window).order_by(
            CosineDistance("vector", profile.tolist())
        )
        ids.update(nearest.values_list("paper_id", flat=True)[:NEAREST])
    return ids


def profile_for(
    description: str, examples: Iterable[str], votes: dict[int, int] | None = None
) -> NDArray[np.float32] | None:
    """A profile vector from a description, example paper keys and 👍/👎 votes by paper id."""
    votes = votes or {}
    positives: list[NDArray[np.float32]] = []
    if description.strip():
        positives.append(get_embedder().embed([description], kind="query")[0])
    example_ids = list(Paper.objects.filter(key__in=list(examples)).values_list("id", flat=True))
    papers_embed([*example_ids, *votes])
    vectors = _vectors([*example_ids, *votes])
    positives += [vectors[pid] for pid in example_ids if pid in vectors]
    positives += [vectors[pid] for pid, value in votes.items() if value > 0 and pid in vectors]
    negatives = [vectors[pid] for pid, value in votes.items() if value < 0 and pid in vectors]
    if not positives:
        return None
    profile = np.mean(positives, axis=0)
    if negatives:
        profile = profile - DOWN_WEIGHT * np.mean(negatives, axis=0)
    norm = float(np.linalg.norm(profile))
    return (profile / norm).astype(np.float32) if norm else None


RESCORE_CHUNK = 5000


def _score_papers(
    radar_in: RadarIn, profile: NDArray[np.float32] | None, ids: Iterable[int]
) -> list[tuple[Paper, MatchIn, float]]:
    """One radar's matches among these papers with their raw cosine, in no particular order."""
    papers = list(
        Paper.objects.filter(id__in=list(ids))
        .defer("search_vector")
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    if not papers:
        return []
    vectors = _vectors(p.pk for p in papers)
    zero = np.zeros(DIM, dtype=np.float32)
    paper_matrix = np.stack([vectors.get(p.pk, zero) for p in papers])
    radar_matrix = (profile if profile is not None else zero).reshape(1, DIM)
    found = radars_score_batch(
        [_paper_in(p) for p in papers], [radar_in], paper_matrix, radar_matrix
    )
    cosine = paper_matrix @ radar_matrix[0]
    index = {p.pk: i for i, p in enumerate(papers)}
    return [(papers[index[m.paper_id]], m, float(cosine[index[m.paper_id]])) for m in found]


def radar_window_score(
    radar_in: RadarIn,
    profile: NDArray[np.float32] | None,
    *,
    authors: list[str],
    days: int,
) -> list[tuple[Paper, MatchIn]]:
    """The likely best matches among the papers of the last `days` days (0: all), best first:
    only candidates are scored (term hits, followed authors, the nearest by embedding), which
    is quick enough for a live preview."""
    ids = _candidate_ids(radar_in, profile, authors, days)
    found = _score_papers(radar_in, profile, ids)
    # Closeness is capped at 1, so the closest papers tie on score: the raw cosine breaks it.
    found.sort(key=lambda f: (-f[1].score, -f[2], -f[0].announced.toordinal()))
    return [(paper, match) for paper, match, _cosine in found]


def radar_preview(
    fields: dict[str, Any], *, days: int = 7, limit: int = 20
) -> list[tuple[Paper, MatchIn]]:
    """The top matches a radar defined by cleaned `fields` would have (nothing is stored)."""
    query = _parse_or_none(fields.get("include", ""))
    authors = list(fields.get("authors", []))
    profile = profile_for(fields.get("description", ""), fields.get("examples", []))
    floor, ceil = band_for(profile)
    radar_in = RadarIn(
        id=0,
        query=query,
        exclude=exclude_query(fields.get("exclude", [])),
        authors={normalise(a): a for a in authors if normalise(a)},
        categories=frozenset(fields.get("categories", [])),
        sources=frozenset(fields.get("sources", [])),
        threshold=float(fields.get("threshold", 0.5)),
        sim_floor=SIM_FLOOR if floor is None else floor,
        sim_ceil=SIM_CEIL if ceil is None else ceil,
    )
    return radar_window_score(radar_in, profile, authors=authors, days=days)[:limit]


RESCORE_DAYS = 7


def radar_rescore(radar: Radar, *, days: int = RESCORE_DAYS) -> dict[str, int]:
    """Re-match one radar over the recent window after it was created or edited.

    New matches are added, kept ones get their new score and reasons (their creation time,
    hence "new", is unchanged), and window matches that no longer qualify are removed
    unless the user rated them.
    """
    window = _window(days)
    # The first radar on an install finds the window not yet embedded (papers are embedded
    # only once some radar exists); later ones find it done. A radar of phrases and authors
    # alone has no profile and needs no vectors.
    if radar.description.strip() or radar.examples or radar.feedback.exists():
        papers_embed(window.values_list("id", flat=True))
    radar_profile_update(radar)
    radar.refresh_from_db()
    profile = None if radar.profile is None else np.asarray(radar.profile, dtype=np.float32)
    # Every paper of the window is scored, as `papers_match` would score it (the preview's
    # shortcut of scoring likely candidates only would drop matches it never looked at).
    radar_in = RadarIn.from_radar(radar)
    window_ids = list(window.order_by("id").values_list("id", flat=True))
    found: list[tuple[Paper, MatchIn]] = []
    for start in range(0, len(window_ids), RESCORE_CHUNK):
        chunk = window_ids[start : start + RESCORE_CHUNK]
        found += [(paper, match) for paper, match, _cos in _score_papers(radar_in, profile, chunk)]
    keep = {paper.pk for paper, _match in found}
    # Only the owner's ratings steer the radar, and only they keep a match in it.
    rated = Feedback.objects.filter(radar=radar, user_id=radar.owner_id).values_list(
        "paper_id", flat=True
    )
    removed, _by_model = (
        Match.objects.filter(radar=radar, paper__in=window)
        .exclude(paper_id__in=keep)
        .exclude(paper_id__in=rated)
        .delete()
    )
    before = Match.objects.filter(radar=radar).count()
    Match.objects.bulk_create(
        [
            Match(
                radar=radar,
                paper=paper,
                score=m.score,
                reasons=[list(r) for r in m.reasons],
                announced=paper.announced,
            )
            for paper, m in found
        ],
        update_conflicts=True,
        unique_fields=["radar", "paper"],
        update_fields=["score", "reasons"],
    )
    return {
        "matches": len(found),
        "created": Match.objects.filter(radar=radar).count() - before,
        "removed": removed,
    }
