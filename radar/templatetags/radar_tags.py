"""Template helpers for paper cards: which of the papers on a page the user saved."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from feeds.models import Paper
from radar.selectors import saved_paper_ids_for_user, user_has_radars

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_paper_ids(context: template.Context, papers: Iterable[Paper | int]) -> set[int]:
    """Ids of `papers` the request user saved: one query per page, empty for visitors."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return set()
    return saved_paper_ids_for_user(user=user, papers=papers)


@register.simple_tag(takes_context=True)
def has_radars(context: template.Context) -> bool:
    """`{% has_radars as has %}`: whether the request user owns a radar or follows a topic
    (True for visitors, who are not asked to make one)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return True
    return user_has_radars(user=user)
