"""Reads on saved papers, radars, topics and matches, shared by views, the API and tasks."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from academichub.web import UNSTORABLE
from feeds.models import Paper
from feeds.selectors import display_sightings
from radar.models import Feedback, Match, Radar, SavedPaper, SeenPaper, Subscription
from radar.reasons import LearnedFrom


def saved_paper_ids_for_user(
    *, user: AbstractBaseUser | AnonymousUser, papers: Iterable[Paper | int]
) -> set[int]:
    """Which of `papers` (objects or ids) the user saved, in one query."""
    if not user.is_authenticated:
        return set()
    ids = {p if isinstance(p, int) else p.pk for p in papers}
    if not ids:
        return set()
    return set(
        SavedPaper.objects.filter(user_id=user.pk, paper_id__in=ids).values_list(
            "paper_id", flat=True
        )
    )


def saved_list_for_user(*, user: AbstractBaseUser) -> QuerySet[SavedPaper]:
    """The user's saved rows, newest first, with the paper loaded."""
    return (
        SavedPaper.objects.filter(user_id=user.pk)
        .select_related("paper")
        .defer("paper__search_vector")
        .order_by("-created_at", "-id")
    )


def saved_list_for_display(*, user: AbstractBaseUser) -> QuerySet[SavedPaper]:
    """`saved_list_for_user` plus what a card shows (sightings and sources): two queries."""
    return saved_list_for_user(user=user).prefetch_related(display_sightings("paper__"))


def saved_papers_for_export(
    *, user: AbstractBaseUser, paper_ids: Iterable[int] | None = None
) -> list[Paper]:
    """The user's saved papers (all, or only those among `paper_ids`), newest saved first."""
    rows = saved_list_for_user(user=user)
    if paper_ids is not None:
        rows = rows.filter(paper_id__in=list(paper_ids))
    return [row.paper for row in rows]


# --- radars, topics and matches -------------------------------------------------------------


def _with_paper_display(matches: QuerySet[Match]) -> QuerySet[Match]:
    """`matches` with their papers (the radars are the caller's: a feed has one, "My radars"
    the reader's few). The papers' sightings, for their source labels, are loaded by the
    page's `{% summary_cards %}` for the labels it does not reuse (`digests.fragments`)."""
    return matches.select_related("paper").defer("paper__search_vector")


# Matches older than this many days are not counted as new on the radars list.
NEW_WITHIN_DAYS = 14


def _count(rows: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT(*) of `rows` (already filtered on OuterRef) as an annotation."""
    counted = rows.order_by().values("radar_id").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted), 0)


def radars_owned(*, user: AbstractBaseUser) -> QuerySet[Radar]:
    """The user's own radars by name, with how many matches each has and how many are new
    (unseen, from the last NEW_WITHIN_DAYS days: counting all would read every match)."""
    since = timezone.localdate() - timedelta(days=NEW_WITHIN_DAYS)
    matches = Match.objects.filter(radar_id=OuterRef("pk"))
    unseen = matches.filter(announced__gte=since).exclude(
        Exists(SeenPaper.objects.filter(user_id=user.pk, paper_id=OuterRef("paper_id")))
    )
    return (
        Radar.objects.filter(owner_id=user.pk)
        .defer("profile")
        .annotate(match_count=_count(matches), unseen_count=_count(unseen))
        .order_by("name", "id")
    )


def topics_followed(*, user: AbstractBaseUser) -> QuerySet[Radar]:
    """Public topics of other users that the user follows, by name."""
    return (
        Radar.objects.filter(subscriptions__user_id=user.pk, public=True)
        .exclude(owner_id=user.pk)
        .defer("profile")
        .order_by("name", "id")
    )


def radar_owned(*, user: AbstractBaseUser, radar_id: int) -> Radar | None:
    """The radar if the user owns it (everyone else gets None: a 404, not a 403)."""
    if not user.is_authenticated:
        return None
    return Radar.objects.filter(id=radar_id, owner_id=user.pk).first()


def radar_readable(*, user: AbstractBaseUser | AnonymousUser, radar_id: int) -> Radar | None:
    """The radar if the user owns it or it is a public topic."""
    radars = Radar.objects.filter(id=radar_id)
    if user.is_authenticated:
        return radars.filter(Q(owner_id=user.pk) | Q(public=True)).first()
    return radars.filter(public=True).first()


def radar_by_feed_token(token: str) -> Radar | None:
    """The radar whose Atom feed URL carries this secret, if its feed is on (a token that
    could not be stored, or is longer than the column, never reaches the database)."""
    max_length = Radar._meta.get_field("feed_token").max_length or 0
    if not token or len(token) > max_length or UNSTORABLE.search(token):
        return None
    return Radar.objects.filter(feed_token=token).first()


def subscription_of(*, user: AbstractBaseUser | AnonymousUser, radar: Radar) -> Subscription | None:
    """The user's subscription to the radar, if any."""
    if not user.is_authenticated:
        return None
    return Subscription.objects.filter(user_id=user.pk, radar=radar).first()


FEED_ORDER = ("-announced", "-score", "id")


def _disliked(user: AbstractBaseUser, **where: Any) -> QuerySet[Feedback, Any]:
    """The ids of the papers the user marked 👎 (in the radar `where` names), as a subquery."""
    return Feedback.objects.filter(user_id=user.pk, value=Feedback.Value.DOWN, **where).values(
        "paper_id"
    )


def radar_matches_for_user(
    *, radar: Radar, user: AbstractBaseUser | AnonymousUser, start: int = 0, stop: int | None = None
) -> QuerySet[Match]:
    """The radar's matches `start:stop`, newest announcement day first, best first within a day.

    Each match carries `feedback` (the user's 👍 1 / 👎 -1 / None) and `is_seen`. The page's
    ids are picked first, from the (radar, day, score) index, so the per-user annotations
    are worked out for those rows only, however much the user has seen.
    """
    rows = Match.objects.filter(radar=radar)
    if user.is_authenticated and user.pk != radar.owner_id:
        # The papers a follower marked 👎 here left the topic for them (its owner's 👎 deletes
        # the match itself, for every reader: `radar.services.feedback_set`).
        rows = rows.exclude(paper_id__in=_disliked(user, radar_id=radar.pk))
    page = rows.order_by(*FEED_ORDER).values("id")[start:stop]
    matches = Match.objects.filter(id__in=page)
    if user.is_authenticated:
        matches = matches.annotate(
            feedback=Subquery(
                Feedback.objects.filter(
                    user_id=user.pk, radar_id=radar.pk, paper_id=OuterRef("paper_id")
                ).values("value")[:1]
            ),
            is_seen=Exists(
                SeenPaper.objects.filter(user_id=user.pk, paper_id=OuterRef("paper_id"))
            ),
        )
    else:
        matches = matches.annotate(feedback=Value(None, IntegerField()), is_seen=Value(True))
    return _with_paper_display(matches).order_by(*FEED_ORDER)


def rated_or_matched_paper(*, user: AbstractBaseUser, radar: Radar, paper_id: int) -> Paper | None:
    """The paper if it is one of the radar's matches or the user rated it in the radar (a 👎
    took it out of the radar's matches; the thumbs still undo it)."""
    matched = Match.objects.filter(radar_id=radar.pk, paper_id=OuterRef("pk"))
    rated = Feedback.objects.filter(user_id=user.pk, radar_id=radar.pk, paper_id=OuterRef("pk"))
    papers = Paper.objects.filter(id=paper_id).defer("search_vector")
    return papers.filter(Exists(matched) | Exists(rated)).first()


def radars_learned_from(
    radars: Iterable[Radar], *, reader: AbstractBaseUser | AnonymousUser
) -> dict[int, LearnedFrom]:
    """What each radar's learned part came from, as `reader` is told (by radar id): its example
    papers found among the papers, its owner's 👍 papers, or both; UNKNOWN for radars the
    reader does not own (the likes are someone else's) or that learned nothing. At most two
    queries however many radars, none unless a radar with examples learned something."""
    own = [r for r in radars if reader.is_authenticated and r.owner_id == reader.pk]
    out: dict[int, LearnedFrom] = {r.pk: LearnedFrom.UNKNOWN for r in radars}
    for r in own:
        if r.learned and not r.examples:
            out[r.pk] = LearnedFrom.LIKES  # nothing else teaches a radar without examples
    own = [r for r in own if r.learned and r.examples]
    if not own:
        return out
    keys = {key for r in own for key in r.examples}
    found = set(Paper.objects.filter(key__in=keys).values_list("key", flat=True)) if keys else set()
    liked = set(
        Feedback.objects.filter(
            radar_id__in=[r.pk for r in own], user_id=own[0].owner_id, value=Feedback.Value.UP
        ).values_list("radar_id", flat=True)
    )
    for r in own:
        out[r.pk] = LearnedFrom.of(examples=bool(found & set(r.examples)), likes=r.pk in liked)
    return out


@dataclass(frozen=True, slots=True)
class RadarPaper:
    """A paper on the "My radars" view: once, with the radars that caught it."""

    paper: Paper
    score: float
    radars: tuple[Radar, ...]
    reasons: list[Any]


# Papers per page of "My radars" (as a radar's feed; "Load more" brings the next).
MY_RADARS_PAGE = 25


def follower_count(*, radar: Radar) -> int:
    """How many readers follow the radar (its owner included)."""
    return Subscription.objects.filter(radar=radar).count()


def user_has_radars(*, user: AbstractBaseUser) -> bool:
    """Whether the user owns a radar or follows a topic (an EXISTS query or two)."""
    owned = Radar.objects.filter(owner_id=user.pk)
    followed = Subscription.objects.filter(user_id=user.pk)
    return bool(owned.exists() or followed.exists())


def my_radars_day(
    *,
    user: AbstractBaseUser,
    days: Collection[date],
    limit: int = MY_RADARS_PAGE,
    offset: int = 0,
) -> tuple[list[RadarPaper], int]:
    """The papers of `days` (one day, or each source family's latest) from the user's radars
    and followed topics, each once, best first, `limit` of them after the first `offset`; and
    how many they caught."""
    # The ids first, so the (radar, day) index serves each radar instead of the whole day.
    owned = Radar.objects.filter(owner_id=user.pk).values_list("id", flat=True)
    followed = Subscription.objects.filter(user_id=user.pk).values_list("radar_id", flat=True)
    radar_ids = set(owned.union(followed))
    of_day = Match.objects.filter(radar_id__in=radar_ids, announced__in=sorted(set(days))).exclude(
        Exists(_disliked(user, radar_id=OuterRef("radar_id"), paper_id=OuterRef("paper_id")))
    )
    best = list(
        of_day.values("paper_id")
        .annotate(best=Max("score"))
        .order_by("-best", "paper_id")
        .values_list("paper_id", flat=True)[offset : offset + limit]
    )
    if offset == 0 and len(best) < limit:
        total = len(best)
    else:
        total = of_day.values("paper_id").distinct().count()
    matches = _with_paper_display(of_day.filter(paper_id__in=best)).order_by("-score", "id")
    radars = Radar.objects.defer("profile").in_bulk(radar_ids)
    by_paper: dict[int, RadarPaper] = {}
    for match in matches:
        radar = radars[match.radar_id]
        found = by_paper.get(match.paper_id)
        if found is None:
            by_paper[match.paper_id] = RadarPaper(
                match.paper, match.score, (radar,), list(match.reasons)
            )
        elif radar not in found.radars:
            by_paper[match.paper_id] = RadarPaper(
                found.paper, found.score, (*found.radars, radar), found.reasons
            )
    return list(by_paper.values()), total


def topics_directory(*, q: str = "", sort: str = "subscribers") -> QuerySet[Radar]:
    """Public topics, searched by name and description, by subscribers, name or newest."""
    topics = (
        Radar.objects.filter(public=True)
        .select_related("owner")
        .defer("profile")
        .annotate(subscriber_count=_count(Subscription.objects.filter(radar_id=OuterRef("pk"))))
    )
    q = q.strip()[:200]
    if q:
        topics = topics.filter(Q(name__icontains=q) | Q(description__icontains=q))
    order = {
        "subscribers": ("-subscriber_count", "name", "id"),
        "name": ("name", "id"),
        "newest": ("-created_at", "id"),
    }.get(sort, ("-subscriber_count", "name", "id"))
    return topics.order_by(*order)
