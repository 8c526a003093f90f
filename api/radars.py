"""The JSON API's radars and topics: every radar is the token owner's, or a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from api.schemas import (
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    MatchPageOut,
    MatchQuery,
    PreviewIn,
    PreviewOut,
    RadarIn,
    RadarListOut,
    RadarOut,
    RadarPatchIn,
    SubscriptionOut,
    TopicPageOut,
    TopicQuery,
    ValidationErrorOut,
)
from api.selectors import radar_matches_page, radars_of, topic_public, topics_page
from api.tokens import token_owner
from feeds.selectors import paper_by_key
from radar.matching import radar_preview
from radar.models import Radar
from radar.reasons import reasons_text
from radar.selectors import radar_owned
from radar.services import (
    RADAR_FIELDS,
    feedback_set,
    radar_clean,
    radar_create,
    radar_delete,
    radar_update,
    subscription_set,
)

radars = Router(tags=["radars"])
topics = Router(tags=["topics"])

# Every route answers these besides its own; 422 for parameters or a body that break the
# schema; a route that reads a body, 400 for one that is not JSON at all and 413 for one over
# the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE).
COMMON: dict[int, Any] = {401: ErrorOut, 429: ErrorOut}
INVALID: dict[int, Any] = {**COMMON, 422: ValidationErrorOut}
NOT_FOUND: dict[int, Any] = {**INVALID, 404: ErrorOut}
WITH_BODY: dict[int, Any] = {400: ErrorOut, 413: ErrorOut}


def _own_radar(request: HttpRequest, radar_id: int) -> Radar:
    radar = radar_owned(user=token_owner(request), radar_id=radar_id)
    if radar is None:
        # Another user's radar is indistinguishable from one that does not exist.
        raise HttpError(404, "Radar not found.")
    return radar


def _clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """`radar_clean`, its errors in the shape of the API's other 422s (one per message)."""
    try:
        return radar_clean(data, partial=partial)
    except DjangoValidationError as exc:
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        raise NinjaValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "payload", field] if field else ["body", "payload"],
                    "msg": message,
                }
                for field, messages in by_field.items()
                for message in messages
            ]
        ) from exc


def _definition(radar: Radar) -> dict[str, Any]:
    return {name: getattr(radar, name) for name in RADAR_FIELDS}


# --- radars ---------------------------------------------------------------------------------


@radars.get(
    "", response={200: RadarListOut, **COMMON}, operation_id="radars_list", summary="My radars"
)
def radars_list(request: HttpRequest) -> dict[str, Any]:
    """The token owner's radars, by name."""
    return {"radars": list(radars_of(user=token_owner(request)))}


@radars.post(
    "",
    response={201: RadarOut, 409: ErrorOut, **INVALID, **WITH_BODY},
    operation_id="radar_create",
    summary="Create a radar",
)
def radars_create(request: HttpRequest, payload: RadarIn) -> Status[Radar]:
    """A new radar (its owner is subscribed to it); recent papers are scored in the background."""
    fields = _clean(payload.model_dump(exclude_unset=True))
    try:
        radar = radar_create(owner=token_owner(request), fields=fields)
    except DjangoValidationError as exc:
        raise HttpError(409, exc.messages[0]) from exc
    return Status(201, radar)


@radars.post(
    "/preview",
    response={200: PreviewOut, **INVALID, **WITH_BODY},
    operation_id="radar_preview",
    summary="What a radar definition would catch (nothing is stored)",
)
def radars_preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    """The top 20 matches of a definition among the papers of the last `days` days; its
    example papers are not among them (they are not a radar's finds)."""
    data = payload.model_dump(exclude_unset=True, exclude={"days"})
    # A preview needs no name; everything else is checked as for a new radar.
    fields = _clean({**data, "name": data.get("name") or "preview"})
    found = radar_preview(fields, days=payload.days)
    return {
        "matches": [
            {
                "key": paper.key,
                "title": paper.title,
                "announced": paper.announced,
                "score": match.score,
                "reasons": reasons_text(match.reasons),
            }
            for paper, match in found.matches
        ],
        "examples_left_out": found.examples_left_out,
        "total": found.total,
    }


@radars.get(
    "/{int:radar_id}",
    response={200: RadarOut, **NOT_FOUND},
    operation_id="radar_detail",
    summary="One of my radars",
)
def radars_detail(request: HttpRequest, radar_id: int) -> Radar:
    """The radar, if the token owner owns it."""
    return _own_radar(request, radar_id)


@radars.patch(
    "/{int:radar_id}",
    response={200: RadarOut, 409: ErrorOut, **NOT_FOUND, **WITH_BODY},
    operation_id="radar_update",
    summary="Change some fields of one of my radars",
)
def radars_update(request: HttpRequest, radar_id: int, payload: RadarPatchIn) -> Radar:
    """Only the fields sent change; the recent window is rescored in the background.
    A change that would leave the radar nothing to look for is a 409."""
    radar = _own_radar(request, radar_id)
    fields = _clean(payload.model_dump(exclude_unset=True), partial=True)
    try:
        radar_clean({**_definition(radar), **fields})
    except DjangoValidationError as exc:
        # Each field is fine; it is the radar as it stands that the change conflicts with.
        raise HttpError(409, " ".join(exc.messages)) from exc
    return radar_update(radar, fields=fields)


@radars.delete(
    "/{int:radar_id}",
    response={204: None, **NOT_FOUND},
    operation_id="radar_delete",
    summary="Delete one of my radars",
)
def radars_delete(request: HttpRequest, radar_id: int) -> Status[None]:
    """The radar goes, with its matches, ratings and subscriptions."""
    radar_delete(_own_radar(request, radar_id))
    return Status(204, None)


@radars.get(
    "/{int:radar_id}/matches",
    response={200: MatchPageOut, **NOT_FOUND},
    operation_id="radar_matches",
    summary="My radar's matches, with scores, reasons and my ratings",
)
def radars_matches(
    request: HttpRequest, radar_id: int, params: Query[MatchQuery]
) -> dict[str, Any]:
    """Newest announcement day first, best first within a day; 50 a page."""
    radar = _own_radar(request, radar_id)
    found = radar_matches_page(radar=radar, user=token_owner(request), page=params.page)
    return {
        "count_on_page": len(found.rows),
        "page": params.page,
        "next_page": params.page + 1 if found.has_more else None,
        "matches": [
            {
                "key": match.paper.key,
                "title": match.paper.title,
                "announced": match.paper.announced,
                "score": match.score,
                "reasons": reasons_text(match.reasons),
                "feedback": match.feedback,  # type: ignore[attr-defined]  # annotated
            }
            for match in found.rows
        ],
    }


@radars.post(
    "/{int:radar_id}/feedback",
    response={200: FeedbackOut, 409: ErrorOut, **NOT_FOUND, **WITH_BODY},
    operation_id="radar_feedback",
    summary="Rate a paper in my radar (👍 1, 👎 -1, 0 to clear)",
)
def radars_feedback(request: HttpRequest, radar_id: int, payload: FeedbackIn) -> dict[str, Any]:
    """Store the rating; the radar's profile moves with it, so later papers rank differently.
    A key no paper has is a 409 (404 is kept for the radar itself)."""
    radar = _own_radar(request, radar_id)
    paper = paper_by_key(payload.key)
    if paper is None:
        raise HttpError(409, "No paper has this key.")
    value = feedback_set(user=token_owner(request), radar=radar, paper=paper, value=payload.value)
    return {"key": paper.key, "value": value}


# --- topics ---------------------------------------------------------------------------------


@topics.get(
    "",
    response={200: TopicPageOut, **INVALID},
    operation_id="topics_list",
    summary="Public topics, searched, by subscribers, name or newest",
)
def topics_list(request: HttpRequest, params: Query[TopicQuery]) -> dict[str, Any]:
    """Public radars with how many follow them and whether the token owner does."""
    found, followed = topics_page(
        user=token_owner(request), q=params.q, sort=params.sort, page=params.page
    )
    for topic in found.rows:
        topic.subscribed = topic.pk in followed  # type: ignore[attr-defined]
    return {
        "count_on_page": len(found.rows),
        "page": params.page,
        "next_page": params.page + 1 if found.has_more else None,
        "topics": found.rows,
    }


def _subscription(request: HttpRequest, topic_id: int, *, subscribed: bool) -> dict[str, Any]:
    topic = topic_public(topic_id=topic_id)
    if topic is None:
        raise HttpError(404, "Topic not found.")
    subscription_set(user=token_owner(request), radar=topic, subscribed=subscribed)
    return {
        "id": topic.pk,
        "subscribed": subscribed,
        "subscriber_count": topic.subscriptions.count(),
    }


@topics.post(
    "/{int:topic_id}/subscribe",
    response={200: SubscriptionOut, **NOT_FOUND},
    operation_id="topic_subscribe",
    summary="Follow a public topic",
)
def topics_subscribe(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    """Follow the topic (again is harmless); its briefing uses the owner's settings."""
    return _subscription(request, topic_id, subscribed=True)


@topics.delete(
    "/{int:topic_id}/subscribe",
    response={200: SubscriptionOut, **NOT_FOUND},
    operation_id="topic_unsubscribe",
    summary="Stop following a public topic",
)
def topics_unsubscribe(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    """Stop following the topic (when not following, nothing changes)."""
    return _subscription(request, topic_id, subscribed=False)
