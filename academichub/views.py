"""Pages that belong to no one app: Today (everything, or what my radars caught), health, errors."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from academichub.web import HtmxHttpRequest
from feeds import views as feeds_views
from radar import views as radar_views


def today(request: HtmxHttpRequest) -> HttpResponse:
    """Today: the day's papers, or (`?view=radars`) those the user's radars and topics caught."""
    if request.GET.get("view") == "radars" and isinstance(request.user, AbstractBaseUser):
        return radar_views.today_my_radars(request, request.user)
    return feeds_views.today(request)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 in the visitor's language."""
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 in the visitor's language, without touching the database."""
    return render(request, "500.html", status=500)
