"""Pages of the feeds app."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from feeds import selectors


def today(request: HttpRequest) -> HttpResponse:
    """The latest announcement day's papers."""
    day, papers = selectors.papers_latest_day()
    return render(request, "feeds/today.html", {"day": day, "papers": papers})


def search(request: HttpRequest) -> HttpResponse:
    """Full-text search over titles and abstracts (being built)."""
    return render(request, "feeds/search.html", {"query": request.GET.get("q", "")})


@staff_member_required
def source_health(request: HttpRequest) -> HttpResponse:
    """Every source with its polling state, for staff."""
    return render(request, "feeds/source_health.html", {"sources": selectors.sources_health()})


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and compose: the database answers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 in the visitor's language."""
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 in the visitor's language, without touching the database."""
    return render(request, "500.html", status=500)
