"""A database that cannot be reached (stopped, restarting, failing over) answers a plain 503
page in the visitor's language, never a traceback; the next request after it is back is served
as usual (CONN_HEALTH_CHECKS replaces the dead connection)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Errors that mean "the database is not there right now", not a bug in the page.
DATABASE_AWAY = (OperationalError, InterfaceError)
# What the 503 asks clients to wait before trying again (seconds).
RETRY_AFTER = 30


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 page; it reads nothing from the database (the visitor's language comes from
    the request: cookie or Accept-Language)."""
    response = render(request, "503.html", status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    """A view that fails because the database is away answers the 503 page (errors raised
    before the view, in other middleware, reach `views.server_error`, which does the same)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The 503 page for a database that is away; anything else goes on to the 500."""
        if isinstance(exception, DATABASE_AWAY):
            return database_unavailable(request)
        return None
