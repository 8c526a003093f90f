"""Reads shared by views, commands and tasks."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, QuerySet

from feeds.models import Paper, Source


def papers_latest_day(limit: int = 100) -> tuple[date | None, list[Paper]]:
    """The most recent announcement day that has papers, and its first papers."""
    latest = Paper.objects.order_by("-announced").values_list("announced", flat=True).first()
    if latest is None:
        return None, []
    papers = list(Paper.objects.filter(announced=latest).order_by("id")[:limit])
    return latest, papers


def sources_health() -> QuerySet[Source]:
    """Sources with the number of papers each has carried."""
    return Source.objects.annotate(paper_count=Count("sightings")).order_by("kind", "label")
