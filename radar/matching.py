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
≈ 0.83–0.90), so the raw cosine is rescaled linearly from [SIM_FLOOR, SIM_CEIL] to [0, 1].
The band belongs to multilingual-e5-small: another embedder needs its own.

The work is done once per batch, for all radars: an inverted index from each radar's query
terms (by first word) to radars, so a query is evaluated only on papers that contain one of
its terms, an index from followed authors to radars, and one float32 matrix product for all
similarities. Each (radar, paper) is stored once; a replacement never resurfaces a paper.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from django.contrib.postgres.search import SearchQuery
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from pgvector.django import CosineDistance

from feeds.models import Paper, PaperSighting
from radar.embedding import DIM, get_embedder, paper_text
from radar.models import Feedback, Match, PaperEmbedding, Radar
from radar.query import Query, QueryError, normalise, parse

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
        )


@dataclass(frozen=True, slots=True)
class MatchIn:
    """A match to store: radar, paper, score and the reasons in plain words."""

    radar_id: int
    paper_id: int
    score: float
    reasons: tuple[Reason, ...]


# A reason as stored on a Match: (kind, value), e.g. ("title", "prompt injection"). Stored
# structured rather than as text so each reader sees it in their own language.
Reason = tuple[str, str | float]


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


def _semantic(similarity: NDArray[np.float32]) -> NDArray[np.float32]:
    scaled = (similarity - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def _similar_pairs(
    paper_vectors: NDArray[np.float32],
    radar_profiles: NDArray[np.float32],
    thresholds: NDArray[np.float32],
    wanted: list[tuple[int, int]],
) -> dict[tuple[int, int], tuple[float, float]]:
    """(cosine, closeness) of the pairs close enough to match on their own, and of `wanted`.

    The product is taken SIM_BLOCK radars at a time, so memory stays bounded (5,000 papers
    against 100,000 radars would be 2 GB of float32 in one piece).
    """
    found: dict[tuple[int, int], tuple[float, float]] = {}
    order = sorted(wanted, key=lambda pair: pair[1])
    wanted_r = np.array([r for _, r in order], dtype=np.int64)
    wanted_p = np.array([p for p, _ in order], dtype=np.int64)
    for start in range(0, len(radar_profiles), SIM_BLOCK):
        stop = min(start + SIM_BLOCK, len(radar_profiles))
        sims = paper_vectors @ radar_profiles[start:stop].T
        semantic = _semantic(sims)
        ps, rs = np.nonzero(semantic >= thresholds[start:stop])
        lo, hi = np.searchsorted(wanted_r, [start, stop])
        ps = np.concatenate([ps, wanted_p[lo:hi]])
        rs = np.concatenate([rs, wanted_r[lo:hi] - start])
        for p, r, sim, close in zip(
            ps.tolist(),
            rs.tolist(),
            sims[ps, rs].tolist(),
            semantic[ps, rs].tolist(),
            strict=True,
        ):
            found[(p, r + start)] = (sim, close)
    return found


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

    # Phrase and author bonuses are sparse: (paper index, radar index) → (bonus, reasons).
    bonus: dict[tuple[int, int], tuple[float, list[Reason]]] = {}
    by_first_word: dict[str, set[int]] = defaultdict(set)
    substring_terms: dict[str, set[int]] = defaultdict(set)  # CJK terms: no word boundaries
    always: list[int] = []
    by_author: dict[str, list[int]] = defaultdict(list)
    for r, radar in enumerate(radars):
        for name in radar.authors:
            by_author[name].append(r)
        if radar.query is None:
            continue
        if radar.query.matches_without_terms:
            always.append(r)
        for term in radar.query.terms():
            first = term.split(" ", 1)[0]
            if first.isascii():
                by_first_word[first].add(r)
            else:
                substring_terms[term].add(r)

    for p, paper in enumerate(papers):
        words = set(paper.title_norm.split()) | set(paper.abstract_norm.split())
        candidates: set[int] = set(always)
        for word in words:
            candidates |= by_first_word.get(word, set())
        # A plural first word (`jailbreaks`) still carries the singular term.
        for word in words:
            if word.endswith("s"):
                candidates |= by_first_word.get(word[:-1], set())
                if word.endswith("es"):
                    candidates |= by_first_word.get(word[:-2], set())
        for term, found in substring_terms.items():
            if term in paper.title_norm or term in paper.abstract_norm:
                candidates |= found
        for r in candidates:
            query = radars[r].query
            assert query is not None
            hit = query.matches(paper.title_norm, paper.abstract_norm)
            if hit is None or not (hit.title or hit.abstract):
                continue
            if hit.title:
                reasons: list[Reason] = [("title", t) for t in hit.title]
                bonus[(p, r)] = (W_TITLE, reasons)
            else:
                reasons = [("abstract", t) for t in hit.abstract]
                bonus[(p, r)] = (W_ABSTRACT, reasons)
        followed: dict[int, list[str]] = defaultdict(list)
        for author in paper.authors:
            for r in by_author.get(author, ()):
                followed[r].append(radars[r].authors[author])
        for r, names in followed.items():
            extra, reasons = bonus.get((p, r), (0.0, []))
            author_reasons: list[Reason] = [("author", name) for name in names]
            bonus[(p, r)] = (extra + W_AUTHOR, [*reasons, *author_reasons])

    thresholds = np.array([radar.threshold for radar in radars], dtype=np.float32)
    # (paper, radar) → (cosine, rescaled closeness) for every pair that may match.
    if paper_vectors is None or radar_profiles is None:
        # No vectors: every similarity is 0 (a radar with threshold <= 0 takes every paper).
        paper_vectors = np.zeros((len(papers), 1), dtype=np.float32)
        radar_profiles = np.zeros((len(radars), 1), dtype=np.float32)
    closeness_of = _similar_pairs(
        np.asarray(paper_vectors, dtype=np.float32),
        np.asarray(radar_profiles, dtype=np.float32),
        thresholds,
        list(bonus),
    )
    pairs = set(closeness_of) | set(bonus)

    matches: list[MatchIn] = []
    for p, r in sorted((int(p), int(r)) for p, r in pairs):
        paper, radar = papers[p], radars[r]
        if radar.categories and not (radar.categories & paper.categories):
            continue
        if radar.sources and not (radar.sources & paper.sources):
            continue
        if radar.exclude is not None and radar.exclude.matches(
            paper.title_norm, paper.abstract_norm
        ):
            continue
        extra, reasons = bonus.get((p, r), (0.0, []))
        similarity, closeness = closeness_of.get((p, r), (0.0, 0.0))
        score = closeness + extra
        if score < radar.threshold:
            continue
        if closeness >= SIM_REASON:
            reasons = [*reasons, ("similar", round(similarity, 4))]
        matches.append(MatchIn(radar.id, paper.id, round(score, 4), tuple(reasons)))
    return matches


# --- Database side --------------------------------------------------------------------------


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
    vectors = embedder.embed(
        [paper_text(title, abstract) for _, title, abstract in todo], kind="passage"
    )
    PaperEmbedding.objects.bulk_create(
        [
            PaperEmbedding(paper_id=pid, vector=vector, model=embedder.name)
            for (pid, _, _), vector in zip(todo, vectors, strict=True)
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
    radar.profile_updated_at = timezone.now()
    radar.save(update_fields=["profile", "profile_updated_at"])


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
    papers = list(
        Paper.objects.filter(id__in=ids)
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    radars = list(Radar.objects.filter(active=True).order_by("id"))
    if not radars:
        # Nothing to score against: embedding waits until a radar exists (its first
        # rescore embeds the recent window).
        return {"papers": len(papers), "embedded": 0, "radars": 0, "matches": 0, "created": 0}
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
    before = Match.objects.filter(paper_id__in=ids).count()
    Match.objects.bulk_create(
        [
            Match(
                radar_id=m.radar_id,
                paper_id=m.paper_id,
                score=m.score,
                reasons=[list(r) for r in m.reasons],
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
        ids.update(window.filter(authors__overlap=authors).values_list("id", flat=True)[:500])
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


def radar_window_score(
    radar_in: RadarIn,
    profile: NDArray[np.float32] | None,
    *,
    authors: list[str],
    days: int,
) -> list[tuple[Paper, MatchIn]]:
    """This radar's matches among the papers of the last `days` days (0: all), best first."""
    ids = _candidate_ids(radar_in, profile, authors, days)
    if not ids:
        return []
    papers = list(
        Paper.objects.filter(id__in=ids)
        .defer("search_vector")
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    vectors = _vectors(ids)
    zero = np.zeros(DIM, dtype=np.float32)
    paper_matrix = np.stack([vectors.get(p.pk, zero) for p in papers])
    radar_matrix = (profile if profile is not None else zero).reshape(1, DIM)
    found = radars_score_batch(
        [_paper_in(p) for p in papers], [radar_in], paper_matrix, radar_matrix
    )
    by_id = {p.pk: p for p in papers}
    ranked = sorted(found, key=lambda m: (-m.score, -by_id[m.paper_id].announced.toordinal()))
    return [(by_id[m.paper_id], m) for m in ranked]


def radar_preview(
    fields: dict[str, Any], *, days: int = 7, limit: int = 20
) -> list[tuple[Paper, MatchIn]]:
    """The top matches a radar defined by cleaned `fields` would have (nothing is stored)."""
    query = _parse_or_none(fields.get("include", ""))
    authors = list(fields.get("authors", []))
    radar_in = RadarIn(
        id=0,
        query=query,
        exclude=exclude_query(fields.get("exclude", [])),
        authors={normalise(a): a for a in authors if normalise(a)},
        categories=frozenset(fields.get("categories", [])),
        sources=frozenset(fields.get("sources", [])),
        threshold=float(fields.get("threshold", 0.5)),
    )
    profile = profile_for(fields.get("description", ""), fields.get("examples", []))
    return radar_window_score(radar_in, profile, authors=authors, days=days)[:limit]


RESCORE_DAYS = 7


def radar_rescore(radar: Radar, *, days: int = RESCORE_DAYS) -> dict[str, int]:
    """Re-match one radar over the recent window after it was created or edited.

    New matches are added, kept ones get their new score and reasons (their creation time,
    hence "new", is unchanged), and window matches that no longer qualify are removed
    unless the user rated them.
    """
    # The first radar on an install finds the window not yet embedded (papers are embedded
    # only once some radar exists); later ones find it done.
    papers_embed(_window(days).values_list("id", flat=True))
    radar_profile_update(radar)
    radar.refresh_from_db()
    profile = None if radar.profile is None else np.asarray(radar.profile, dtype=np.float32)
    found = radar_window_score(
        RadarIn.from_radar(radar), profile, authors=list(radar.authors), days=days
    )
    keep = {paper.pk for paper, _match in found}
    rated = Feedback.objects.filter(radar=radar).values_list("paper_id", flat=True)
    removed, _by_model = (
        Match.objects.filter(radar=radar, paper__in=_window(days))
        .exclude(paper_id__in=keep)
        .exclude(paper_id__in=rated)
        .delete()
    )
    before = Match.objects.filter(radar=radar).count()
    Match.objects.bulk_create(
        [
            Match(radar=radar, paper=paper, score=m.score, reasons=[list(r) for r in m.reasons])
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
