"""The JSON API (django-ninja), with OpenAPI docs at /api/v1/docs."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Path, Query, Swagger
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.security import HttpBearer

from api.briefings import briefings
from api.radars import radars, topics
from api.ratelimit import rate_limit_hit
from api.schemas import STORABLE, ErrorOut, PaperOut, PaperPageOut, PaperQuery, ValidationErrorOut
from api.selectors import papers_page
from api.tokens import token_authenticate
from digests.selectors import card_for_paper, cards_for_papers
from feeds.export import paper_export
from feeds.selectors import PaperFilters, paper_by_key

logger = logging.getLogger("django.request")


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ah_…`: a personal token, limited per minute."""

    def __call__(self, request: HttpRequest) -> Any:
        # ninja's own parsing logs a malformed header (a token under another scheme) in DEBUG.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        """The token's user, or None (401); raises Throttled (429) over the rate limit."""
        api_token = token_authenticate(token)
        if api_token is None:
            return None
        retry_after = rate_limit_hit(
            key=f"api:{api_token.digest[:32]}", limit=settings.API_RATE_LIMIT_PER_MINUTE
        )
        if retry_after is not None:
            raise Throttled(wait=retry_after)
        return api_token.user


api = NinjaAPI(
    title="AcademicHub API",
    version="1",
    description=(
        "Papers from the AcademicHub radar, your radars and their matches, and public topics. "
        "Create a personal token under Settings → API tokens (or `manage.py api_token EMAIL`) "
        "and send it as `Authorization: Bearer …`. Only that header authenticates: a browser "
        "session does not, so writes need no CSRF token. Radars are your own: another "
        "user's radar id answers 404."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    # The vendored Swagger UI (ninja's static files); no validator badge from swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)


api.add_router("/radars", radars)
api.add_router("/topics", topics)
api.add_router("/briefings", briefings)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    """401 that names the scheme to use (RFC 6750)."""
    response = api.create_response(request, {"detail": "Unauthorized"}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """500 in JSON like every other API answer; the traceback goes to the error log."""
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return api.create_response(request, {"detail": "Internal server error."}, status=500)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, which Django refuses to read."""
    return api.create_response(request, {"detail": "Request body too large."}, status=413)


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    """429 with the seconds until the next window in Retry-After."""
    response = api.create_response(request, {"detail": "Too many requests."}, status=429)
    if exc.wait is not None:
        response["Retry-After"] = str(exc.wait)
    return response


def _exactly(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """`body` as JSON, unfiltered: `paper_export` is the contract and the schemas document it,
    so a field export_papers gains (the card) reaches the API without a second list to edit."""
    return api.create_response(request, body, status=200)


@api.get(
    "/papers",
    response={200: PaperPageOut, 401: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut},
    tags=["papers"],
    operation_id="papers_list",
    summary="Papers of a day, filtered, or searched",
)
def papers_list(request: HttpRequest, filters: Query[PaperQuery]) -> HttpResponse:
    """Without `q` and `date`, the latest announcement day; with `q`, ranked search results."""
    result = papers_page(
        PaperFilters.cleaned(
            source=filters.source, category=filters.category, announce_type=filters.announce_type
        ),
        day=filters.date,
        q=filters.q,
        page=filters.page,
    )
    cards = cards_for_papers(paper.pk for paper in result.papers)
    body = {
        "count_on_page": len(result.papers),
        "page": filters.page,
        "next_page": filters.page + 1 if result.has_more else None,
        "papers": [paper_export(paper, cards.get(paper.pk)) for paper in result.papers],
    }
    return _exactly(request, body)


@api.get(
    "/papers/{path:key}",
    response={200: PaperOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut},
    tags=["papers"],
    operation_id="paper_detail",
    summary="One paper by key (an arXiv id or a DOI; slashes allowed)",
)
def paper_detail(
    request: HttpRequest, key: Annotated[str, Path(max_length=255, pattern=STORABLE)]
) -> HttpResponse:
    """The paper whose key is `key`, or 404."""
    paper = paper_by_key(key)
    if paper is None:
        raise HttpError(404, "Paper not found.")
    return _exactly(request, paper_export(paper, card_for_paper(paper.pk)))
