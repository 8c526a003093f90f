"""Pages that belong to no one app: Today (everything, or what my radars caught), health, errors."""

from __future__ import annotations

import sys

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from academichub.health import health_checks
from academichub.middleware import DATABASE_AWAY, database_unavailable
from academichub.web import HtmxHttpRequest
from feeds import views as feeds_views
from radar import views as radar_views


def today(request: HtmxHttpRequest) -> HttpResponse:
    """Today: the day's papers, or (`?view=radars`) those the user's radars and topics caught."""
    if request.GET.get("view") == "radars" and isinstance(request.user, AbstractBaseUser):
        return radar_views.today_my_radars(request, request.user)
    return feeds_views.today(request)


def healthz(request: HttpRequest) -> HttpResponse:
    """Readiness: PostgreSQL and Redis answer (and the beat's heartbeat is recent, where
    checked): 200, else 503 naming the parts that are down, as a small JSON body.
    `?live`: liveness, the process alone (it answers; nothing else is asked)."""
    if "live" in request.GET:
        return HttpResponse("ok", content_type="text/plain")
    checks = health_checks()
    down = sorted(part for part, state in checks.items() if state != "ok")
    body = {"status": "down" if down else "ok", "down": down, **checks}
    return JsonResponse(body, status=503 if down else 200)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 in the visitor's language."""
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 in the visitor's language, without touching the database; a database that is
    away (found before the view, e.g. loading the session) gets the plain 503 page."""
    if isinstance(sys.exc_info()[1], DATABASE_AWAY):
        return database_unavailable(request)
    return render(request, "500.html", status=500)
