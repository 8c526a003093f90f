"""The JSON API's pages of papers: the filters and search of `feeds.selectors`, 50 a page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from feeds import selectors
from feeds.selectors import PaperFilters, PaperPage

PAGE_SIZE = 50
# Deep pages cost an OFFSET scan each; nobody pages this far by hand.
MAX_PAGE = 200
# Longer queries are cut: they only make the substring fallback slower.
MAX_QUERY_LENGTH = 200


def papers_page(
    filters: PaperFilters, *, day: date | None = None, q: str = "", page: int = 1
) -> PaperPage:
    """One page of papers: searched when `q` is set (on `day` only, if given), else the papers
    of `day` (default the latest day with papers matching the filters) in id order."""
    q = q.strip()[:MAX_QUERY_LENGTH]
    if q:
        if day is not None:
            filters = replace(filters, date_from=day, date_to=day)
        found = selectors.search_papers(
            q=q, filters=filters, page=page, page_size=PAGE_SIZE, highlight=False
        )
        return PaperPage(papers=list(found.papers), has_more=found.has_more)
    day = day or selectors.latest_day(filters)
    if day is None:
        return PaperPage(papers=[], has_more=False)
    return selectors.papers_of_day(day, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
