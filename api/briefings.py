"""The JSON API's briefings: those of the token owner's radars and followed topics, or 404."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from api.schemas import ErrorOut, ValidationErrorOut
from api.selectors import MAX_PAGE
from api.tokens import token_owner
from digests.display import briefing_export, briefing_summary
from digests.selectors import briefing_for_user, briefings_for_user

briefings = Router(tags=["briefings"])

COMMON: dict[int, Any] = {401: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut}
PAGE_SIZE = 50


class BriefingQuery(Schema):
    """Which radar's briefings, and which page."""

    radar: int | None = Field(None, description="only this radar's (or followed topic's)")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 briefings")


class BriefingListOut(Schema):
    """A page of briefings, newest first."""

    briefings: list[dict[str, Any]]
    page: int
    next_page: int | None


@briefings.get(
    "",
    response={200: BriefingListOut, **COMMON},
    operation_id="briefings_list",
    summary="My briefings",
)
def briefings_list(request: HttpRequest, params: Query[BriefingQuery]) -> dict[str, Any]:
    """Briefings of the owner's radars and followed topics (of one radar with `radar`)."""
    page = params.page
    start = (page - 1) * PAGE_SIZE
    rows = list(
        briefings_for_user(token_owner(request), radar_id=params.radar)[
            start : start + PAGE_SIZE + 1
        ]
    )
    return {
        "briefings": [briefing_summary(b) for b in rows[:PAGE_SIZE]],
        "page": page,
        "next_page": page + 1 if len(rows) > PAGE_SIZE else None,
    }


@briefings.get(
    "/{briefing_id}",
    response={200: dict[str, Any], 404: ErrorOut, **COMMON},
    operation_id="briefing_detail",
    summary="One briefing",
)
def briefing_detail(request: HttpRequest, briefing_id: int) -> dict[str, Any]:
    """Themes, links between fields and read-first picks, citing papers by `key`."""
    briefing = briefing_for_user(token_owner(request), briefing_id)
    if briefing is None:
        raise HttpError(404, "Briefing not found.")
    return briefing_export(briefing)
