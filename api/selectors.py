"""The JSON API's reads: pages of papers (the filters of `feeds.selectors`, the search of `feeds.search`),
the token owner's radars and their matches, and the topics directory; 50 a page."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet

from feeds import search, selectors
from feeds.selectors import PaperFilters, PaperPage
from radar.models import Match, Radar, Subscription
from radar.selectors import radar_matches_for_user, topics_directory

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
        found = search.search_papers(
            q=q, filters=filters, page=page, page_size=PAGE_SIZE, highlight=False
        )
        return PaperPage(papers=list(found.papers), has_more=found.has_more)
    day = day or selectors.latest_day(filters)
    if day is None:
        return PaperPage(papers=[], has_more=False)
    return selectors.papers_of_day(day, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class Page[T]:
    """Rows of one page and whether another follows."""

    rows: list[T]
    has_more: bool


def _page[M: Model](rows: QuerySet[M], page: int) -> Page[M]:
    # One row past the page says whether there is a next one, without a COUNT.
    start = (page - 1) * PAGE_SIZE
    found = list(rows[start : start + PAGE_SIZE + 1])
    return Page(found[:PAGE_SIZE], len(found) > PAGE_SIZE)


def radars_of(*, user: AbstractBaseUser) -> QuerySet[Radar]:
    """The user's own radars by name (their profile vectors are not loaded)."""
    return Radar.objects.filter(owner_id=user.pk).defer("profile").order_by("name", "id")


def radar_matches_page(*, radar: Radar, user: AbstractBaseUser, page: int = 1) -> Page[Match]:
    """One page of the radar's matches as its feed orders them, with the user's ratings."""
    start = (page - 1) * PAGE_SIZE
    matches = (
        radar_matches_for_user(radar=radar, user=user, start=start, stop=start + PAGE_SIZE + 1)
        .prefetch_related(None)  # the feed's sightings: the API shows no sources here
        .defer("paper__abstract", "paper__abstract_html")
    )
    found = list(matches)
    return Page(found[:PAGE_SIZE], len(found) > PAGE_SIZE)


def topics_page(
    *, user: AbstractBaseUser, q: str = "", sort: str = "subscribers", page: int = 1
) -> tuple[Page[Radar], set[int]]:
    """One page of public topics (with `subscriber_count`) and the ids of those `user` follows."""
    found = _page(topics_directory(q=q, sort=sort), page)
    followed = set(
        Subscription.objects.filter(
            user_id=user.pk, radar_id__in=[topic.pk for topic in found.rows]
        ).values_list("radar_id", flat=True)
    )
    return found, followed


def topic_public(*, topic_id: int) -> Radar | None:
    """A public topic by id (a private radar is no topic: None, a 404 for everyone)."""
    return Radar.objects.filter(id=topic_id, public=True).defer("profile").first()
