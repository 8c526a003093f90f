"""Saved papers (and, later, radars)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def saved(request: HttpRequest) -> HttpResponse:
    """The user's saved papers (being built)."""
    return render(request, "radar/saved.html", {})
