"""Reads behind the JSON API: one page of papers, filtered or searched, and one paper."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from feeds.models import Paper, PaperSighting

PAGE_SIZE = 50
# Deep pages cost an OFFSET scan each; nobody pages this far by hand.
MAX_PAGE = 200
# Longer queries are cut: they only make the substring fallback slower.
MAX_QUERY_LENGTH = 200
# Han, kana, Hangul: the English text-search parser sees no word boundaries in them.
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class PaperFilters:
    """The Today page's filters plus a search query; empty strings mean "any"."""

    date: date | None = None
    source: str = ""
    category: str = ""
    announce_type: str = ""
    q: str = ""


@dataclass(frozen=True)
class PaperPage:
    """One page of papers and whether another follows (no COUNT over the table)."""

    papers: list[Paper]
    page: int
    has_next: bool


def _with_sources(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """Papers with what `paper_export` reads prefetched; the search vector is not fetched."""
    return papers.defer("search_vector").prefetch_related(
        Prefetch("sightings", queryset=PaperSighting.objects.select_related("source"))
    )


def _tsquery_has_lexemes(q: str) -> bool:
    """Whether websearch_to_tsquery keeps anything of `q` (not only stop words)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT numnode(websearch_to_tsquery('english', %s))", [q])
        row = cursor.fetchone()
    return bool(row and row[0])


def _filtered(filters: PaperFilters) -> QuerySet[Paper]:
    """Papers matching the source, category and announce-type filters."""
    papers = Paper.objects.all()
    if filters.source:
        papers = papers.filter(
            Exists(PaperSighting.objects.filter(paper=OuterRef("pk"), source__slug=filters.source))
        )
    if filters.category:
        # arXiv categories keep their case (cs.CL), bioRxiv's are stored lower-case.
        condition = Q()
        for value in {filters.category, filters.category.lower()}:
            condition |= Q(categories__contains=[value])
        papers = papers.filter(condition)
    if filters.announce_type:
        papers = papers.filter(announce_type=filters.announce_type)
    return papers


def _searched(papers: QuerySet[Paper], q: str) -> QuerySet[Paper]:
    """Full-text matches ranked by ts_rank; a substring match for CJK or stop-word queries."""
    if not CJK_RE.search(q) and _tsquery_has_lexemes(q):
        query = SearchQuery(q, search_type="websearch", config="english")
        return (
            papers.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-announced", "id")
        )
    # Newest first along the (announced, id) index, so LIMIT stops the scan early.
    return papers.filter(Q(title__icontains=q) | Q(abstract__icontains=q)).order_by(
        "-announced", "id"
    )


def papers_page(filters: PaperFilters, *, page: int = 1) -> PaperPage:
    """One page of papers: searched when `q` is set, else one day (default the latest)."""
    papers = _filtered(filters)
    q = filters.q.strip()[:MAX_QUERY_LENGTH]
    if filters.date is not None:
        papers = papers.filter(announced=filters.date)
    elif not q:
        latest = papers.order_by("-announced").values_list("announced", flat=True).first()
        if latest is None:
            return PaperPage(papers=[], page=page, has_next=False)
        papers = papers.filter(announced=latest)
    papers = _searched(papers, q) if q else papers.order_by("-announced", "id")
    offset = (page - 1) * PAGE_SIZE
    # One row more than a page says whether a next page exists.
    rows = list(_with_sources(papers)[offset : offset + PAGE_SIZE + 1])
    return PaperPage(papers=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def paper_by_key(key: str) -> Paper | None:
    """The paper with this key (arXiv id, DOI or link hash), ready for `paper_export`."""
    return _with_sources(Paper.objects.filter(key=key)).first()
