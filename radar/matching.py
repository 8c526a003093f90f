"""Radar matching against the database: load papers and radars, score them, store the matches.

New papers are embedded and scored against every active radar at once (`papers_match`); one
radar is scored against a window of stored papers for a live preview (`radar_preview`) or
after it was created or edited (`radar_rescore`). The scoring itself is `radar.scoring`, the
vectors and profiles `radar.profiles`. Each (radar, paper) is stored once; a replacement
never resurfaces a paper. A radar's own example papers are never its matches
(`_examples_left_out`, on every path from scores to matches), nor are the papers its owner
marked 👎 "less like this" (`_disliked_left_out`, on the same paths).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Max, Prefetch, QuerySet
from django.utils import timezone
from pgvector.django import CosineDistance

from feeds.models import Paper, PaperSighting
from radar.embedding import DIM
from radar.models import Feedback, Match, PaperEmbedding, Radar
from radar.profiles import (
    band_for,
    paper_vectors,
    papers_embed,
    profile_for,
    radar_profile_update,
    word_stats,
)
from radar.query import Query, QueryError, exclude_query, normalise, parse
from radar.scoring import (
    DEFAULT_THRESHOLD,
    SIM_CEIL,
    SIM_FLOOR,
    MatchIn,
    PaperIn,
    RadarIn,
    radars_score_batch,
)
from radar.understanding import understood_for
from radar.words import description_words

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "Preview",
    "disliked_by_owner",
    "papers_announced_since",
    "papers_match",
    "radar_preview",
    "radar_rescore",
    "radar_window_score",
    "window_since",
]


def _radar_in(radar: Radar) -> RadarIn:
    """The scoring view of a stored radar; a query that no longer parses is ignored."""
    understood = understood_for(radar)
    return RadarIn(
        id=radar.pk,
        query=_parse_or_none(radar.include),
        exclude=exclude_query(radar.exclude),
        authors={normalise(a): a for a in radar.authors if normalise(a)},
        categories=frozenset(radar.categories),
        sources=frozenset(radar.sources),
        threshold=radar.threshold,
        sim_floor=radar.sim_floor if radar.sim_floor is not None else SIM_FLOOR,
        sim_ceil=radar.sim_ceil if radar.sim_ceil is not None else SIM_CEIL,
        words=description_words(radar.description, understood.keywords if understood else ()),
        liked_categories=dict(radar.learned.get("categories", {})),
        liked_words=dict(radar.learned.get("words", {})),
    )


def _parse_or_none(text: str) -> Query | None:
    if not text.strip():
        return None
    try:
        return parse(text)
    except QueryError:
        return None


def _paper_in(paper: Paper) -> PaperIn:
    return PaperIn(
        id=paper.pk,
        title_norm=normalise(paper.title),
        abstract_norm=normalise(paper.abstract),
        authors=tuple(normalise(a) for a in paper.authors),
        categories=frozenset(paper.categories),
        sources=frozenset(s.source.slug for s in paper.sightings.all()),
        primary_category=paper.primary_category,
    )


def _examples_left_out(
    found: list[MatchIn], papers: Sequence[Paper], examples: Mapping[int, Collection[str]]
) -> tuple[list[MatchIn], int]:
    """The matches without each radar's own example papers, and how many were left out.

    The user picked those papers: as finds they would teach nothing and fill the top of a
    new radar. `examples` holds each radar's example keys by radar id (as the profile reads
    them, `radar.profiles.profile_for`); they are looked up among the scored `papers`, so a
    batch costs one dictionary and no query.
    """
    if not any(examples.values()):
        return found, 0
    by_key = {paper.key: paper.pk for paper in papers}
    own = {
        (radar_id, by_key[key])
        for radar_id, keys in examples.items()
        for key in keys
        if key in by_key
    }
    if not own:
        return found, 0
    kept = [m for m in found if (m.radar_id, m.paper_id) not in own]
    return kept, len(found) - len(kept)


def disliked_by_owner(
    radar_ids: Iterable[int], paper_ids: Iterable[int] | None = None
) -> dict[int, set[int]]:
    """The papers each radar's owner marked 👎 in it, by radar id (only among `paper_ids` when
    given): they left the radar, as its examples never enter it. One query."""
    rows = Feedback.objects.filter(
        radar_id__in=list(radar_ids), value=Feedback.Value.DOWN, user_id=F("radar__owner_id")
    )
    if paper_ids is not None:
        rows = rows.filter(paper_id__in=list(paper_ids))
    out: dict[int, set[int]] = {}
    for radar_id, paper_id in rows.values_list("radar_id", "paper_id"):
        out.setdefault(radar_id, set()).add(paper_id)
    return out


def _disliked_left_out(
    found: list[MatchIn], disliked: Mapping[int, Collection[int]]
) -> list[MatchIn]:
    """The matches without the papers each radar's owner marked 👎 in it (by radar id):
    "less like this" takes a paper out of the radar, and un-marking it lets it back at the
    next rescore."""
    if not any(disliked.values()):
        return found
    return [m for m in found if m.paper_id not in disliked.get(m.radar_id, ())]


def papers_match(paper_ids: Iterable[int]) -> dict[str, int]:
    """Embed (whether or not radars exist, so a first radar's preview finds the papers), score
    against every active radar, store new matches; returns counts."""
    ids = sorted(set(paper_ids))
    embedded = papers_embed(ids)
    radars = list(Radar.objects.filter(active=True).order_by("id"))
    if not radars:
        # Nothing to score against (checked before loading any paper: this runs after every
        # poll).
        papers_found = Paper.objects.filter(id__in=ids).count()
        return {
            "papers": papers_found,
            "embedded": embedded,
            "radars": 0,
            "matches": 0,
            "created": 0,
        }
    papers = list(
        Paper.objects.filter(id__in=ids)
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    for radar in radars:
        # A new radar gets its profile the first time it is scored.
        if radar.profile_updated_at is None:
            radar_profile_update(radar)
    vectors = paper_vectors(ids)
    zero = np.zeros(DIM, dtype=np.float32)
    paper_matrix = np.stack([vectors.get(p.pk, zero) for p in papers]) if papers else None
    radar_matrix = (
        np.stack([zero if r.profile is None else np.asarray(r.profile, np.float32) for r in radars])
        if radars
        else None
    )
    found = radars_score_batch(
        [_paper_in(p) for p in papers],
        [_radar_in(r) for r in radars],
        paper_matrix,
        radar_matrix,
        word_stats(),
    )
    found, _left_out = _examples_left_out(
        found, papers, {r.pk: r.examples for r in radars if r.examples}
    )
    # A replacement of a paper marked 👎 must not bring it back.
    found = _disliked_left_out(found, disliked_by_owner([r.pk for r in radars], ids))
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

# How many of the window's nearest papers by embedding are scored, how many phrase and author
# hits, and how many papers sharing the description's words: the rest cannot reach any
# sensible threshold.
NEAREST = 400
PHRASE_CANDIDATES = 2000
WORD_CANDIDATES = 400


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
    if radar_in.words:
        # The papers sharing the most of the description's words (full text, any of them).
        words = SearchQuery(" OR ".join(radar_in.words), search_type="websearch", config="english")
        ids.update(
            window.filter(search_vector=words)
            .order_by(SearchRank("search_vector", words).desc())
            .values_list("id", flat=True)[:WORD_CANDIDATES]
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


RESCORE_CHUNK = 5000


def _score_papers(
    radar_in: RadarIn,
    profile: NDArray[np.float32] | None,
    ids: Iterable[int],
    examples: Collection[str],
    disliked: Collection[int] = (),
) -> tuple[list[tuple[Paper, MatchIn, float]], int]:
    """One radar's matches among these papers with their raw cosine, in no particular order,
    and how many of its `examples` (paper keys) were left out of them; the `disliked` papers
    (ids its owner marked 👎) are left out too."""
    papers = list(
        Paper.objects.filter(id__in=list(ids))
        .defer("search_vector")
        .order_by("id")
        .prefetch_related(
            Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
        )
    )
    if not papers:
        return [], 0
    vectors = paper_vectors(p.pk for p in papers)
    zero = np.zeros(DIM, dtype=np.float32)
    paper_matrix = np.stack([vectors.get(p.pk, zero) for p in papers])
    radar_matrix = (profile if profile is not None else zero).reshape(1, DIM)
    found = radars_score_batch(
        [_paper_in(p) for p in papers], [radar_in], paper_matrix, radar_matrix, word_stats()
    )
    found, left_out = _examples_left_out(found, papers, {radar_in.id: examples})
    found = _disliked_left_out(found, {radar_in.id: disliked})
    cosine = paper_matrix @ radar_matrix[0]
    index = {p.pk: i for i, p in enumerate(papers)}
    scored = [(papers[index[m.paper_id]], m, float(cosine[index[m.paper_id]])) for m in found]
    return scored, left_out


@dataclass(frozen=True, slots=True)
class Preview:
    """What a radar definition would catch, best first, how many of its own example papers
    were left out of that (they would have been matches), and how many papers it catches in
    all (`matches` may be only the best of them)."""

    matches: list[tuple[Paper, MatchIn]]
    examples_left_out: int = 0
    total: int = 0


def radar_window_score(
    radar_in: RadarIn,
    profile: NDArray[np.float32] | None,
    *,
    authors: list[str],
    examples: Collection[str],
    days: int,
    disliked: Collection[int] = (),
) -> Preview:
    """The likely best matches among the papers of the last `days` days (0: all), best first:
    only candidates are scored (term hits, followed authors, the nearest by embedding), which
    is quick enough for a live preview."""
    ids = _candidate_ids(radar_in, profile, authors, days)
    found, left_out = _score_papers(radar_in, profile, ids, examples, disliked)
    # Closeness is capped at 1, so the closest papers tie on score: the raw cosine breaks it.
    found.sort(key=lambda f: (-f[1].score, -f[2], -f[0].announced.toordinal()))
    return Preview([(paper, match) for paper, match, _cosine in found], left_out, len(found))


def radar_preview(
    fields: dict[str, Any], *, days: int = 7, limit: int = 20, radar: Radar | None = None
) -> Preview:
    """The top `limit` matches a radar defined by cleaned `fields` would have (nothing is
    stored) and how many it would have in all (`Preview.total`: the candidates scoring above
    the threshold), without its example papers; editing a saved `radar`, without the papers
    its owner marked 👎 in it either."""
    query = _parse_or_none(fields.get("include", ""))
    authors = list(fields.get("authors", []))
    examples = list(fields.get("examples", []))
    description = fields.get("description", "")
    # The English profile the owner is typing ({"text", "keywords"} from `radar_clean`).
    mine = fields.get("understood") or {}
    english, keywords = str(mine.get("text", "")), list(mine.get("keywords", []))
    profile = profile_for(description, examples, english=english)
    floor, ceil = band_for(profile)
    radar_in = RadarIn(
        id=0,
        query=query,
        exclude=exclude_query(fields.get("exclude", [])),
        authors={normalise(a): a for a in authors if normalise(a)},
        categories=frozenset(fields.get("categories", [])),
        sources=frozenset(fields.get("sources", [])),
        threshold=float(fields.get("threshold", DEFAULT_THRESHOLD)),
        sim_floor=SIM_FLOOR if floor is None else floor,
        sim_ceil=SIM_CEIL if ceil is None else ceil,
        words=description_words(description, keywords),
    )
    disliked = disliked_by_owner([radar.pk]).get(radar.pk, set()) if radar is not None else set()
    found = radar_window_score(
        radar_in, profile, authors=authors, examples=examples, days=days, disliked=disliked
    )
    return Preview(found.matches[:limit], found.examples_left_out, found.total)


RESCORE_DAYS = 7


def radar_rescore(radar: Radar, *, days: int = RESCORE_DAYS) -> dict[str, int]:
    """Re-match one radar over the recent window after it was created or edited.

    New matches are added, kept ones get their new score and reasons (their creation time,
    hence "new", is unchanged), and window matches that no longer qualify are removed
    unless the user rated them. The matches of the radar's example papers and of the papers
    its owner marked 👎 are removed whatever their day: an example added since is no longer
    a find, and "less like this" takes a paper out (un-marked, it comes back here).
    """
    window = _window(days)
    # Papers arrive embedded; a window from before that (an install upgraded from when papers
    # waited for a first radar) is embedded here once. A radar of phrases and authors alone
    # has no profile and needs no vectors.
    if radar.description.strip() or radar.examples or radar.feedback.exists():
        papers_embed(window.values_list("id", flat=True))
    radar_profile_update(radar)
    radar.refresh_from_db()
    profile = None if radar.profile is None else np.asarray(radar.profile, dtype=np.float32)
    # Every paper of the window is scored, as `papers_match` would score it (the preview's
    # shortcut of scoring likely candidates only would drop matches it never looked at).
    radar_in = _radar_in(radar)
    disliked = disliked_by_owner([radar.pk]).get(radar.pk, set())
    window_ids = list(window.order_by("id").values_list("id", flat=True))
    found: list[tuple[Paper, MatchIn]] = []
    for start in range(0, len(window_ids), RESCORE_CHUNK):
        chunk = window_ids[start : start + RESCORE_CHUNK]
        scored, _left_out = _score_papers(radar_in, profile, chunk, radar.examples, disliked)
        found += [(paper, match) for paper, match, _cos in scored]
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
    if radar.examples:
        examples_removed, _by_model = Match.objects.filter(
            radar=radar, paper__key__in=radar.examples
        ).delete()
        removed += examples_removed
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
    created = Match.objects.filter(radar=radar).count() - before
    # The papers the owner marked 👎 leave the radar, those marked while this ran (the
    # scoring takes seconds) too.
    disliked_removed, _by_model = Match.objects.filter(
        radar=radar,
        paper_id__in=Feedback.objects.filter(
            radar=radar, user_id=radar.owner_id, value=Feedback.Value.DOWN
        ).values("paper_id"),
    ).delete()
    removed += disliked_removed
    return {"matches": len(found), "created": created, "removed": removed}
