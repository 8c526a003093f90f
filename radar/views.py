"""Saved papers: the list, the star toggle, and BibTeX/RIS export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from feeds import citations
from feeds.labels import paper_card
from feeds.models import Paper
from radar.selectors import saved_list_for_display, saved_papers_for_export
from radar.services import saved_paper_toggle


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthedRequest(HtmxHttpRequest):
    """A request behind `login_required`: the user is a real account."""

    user: User


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` parameter when it points at this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def saved(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers, newest first, with export and unsave."""
    items = [(row, paper_card(row.paper)) for row in saved_list_for_display(user=request.user)]
    return render(request, "radar/saved.html", {"items": items})


@require_POST
@login_required
def save_toggle(request: AuthedRequest, paper_id: int) -> HttpResponse:
    """Star or unstar a paper; htmx gets the new button, a plain form a redirect back."""
    paper = get_object_or_404(Paper, pk=paper_id)
    wanted = request.POST.get("saved")
    saved_state = saved_paper_toggle(
        user=request.user,
        paper=paper,
        saved=None if wanted not in ("0", "1") else wanted == "1",
    )
    next_url = _safe_next(request, reverse("radar:saved"))
    if request.htmx:
        return render(
            request,
            "radar/_save_button.html",
            {"paper": paper, "is_saved": saved_state, "save_next": next_url},
        )
    return HttpResponseRedirect(next_url)


def _selected_ids(request: HttpRequest) -> list[int] | None:
    """The `key` checkboxes as paper ids, or None for "everything"."""
    data = request.POST if request.method == "POST" else request.GET
    raw = data.getlist("key")
    if not raw:
        return None
    return [int(value) for value in raw if value.isascii() and value.isdecimal()]


def _export(request: AuthedRequest, fmt: str) -> HttpResponse:
    papers = saved_papers_for_export(user=request.user, paper_ids=_selected_ids(request))
    return citations.citations_download(papers, fmt=fmt, name="academichub-saved")


@require_GET
@login_required
def saved_export_bibtex(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers (all, or the `key` ids chosen) as BibTeX."""
    return _export(request, "bib")


@require_GET
@login_required
def saved_export_ris(request: AuthedRequest) -> HttpResponse:
    """The user's saved papers (all, or the `key` ids chosen) as RIS."""
    return _export(request, "ris")
