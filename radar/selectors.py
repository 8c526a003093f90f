"""Reads on saved papers, shared by views, template tags and exports."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from feeds.models import Paper, PaperSighting
from radar.models import SavedPaper


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
    sightings = PaperSighting.objects.select_related("source").order_by("first_seen", "id")
    return saved_list_for_user(user=user).prefetch_related(
        Prefetch("paper__sightings", queryset=sightings)
    )


def saved_papers_for_export(
    *, user: AbstractBaseUser, paper_ids: Iterable[int] | None = None
) -> list[Paper]:
    """The user's saved papers (all, or only those among `paper_ids`), newest saved first."""
    rows = saved_list_for_user(user=user)
    if paper_ids is not None:
        rows = rows.filter(paper_id__in=list(paper_ids))
    return [row.paper for row in rows]
