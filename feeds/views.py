"""Pages of the feeds app: today's papers, the paper page with citations, source health."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format

from academichub.web import HtmxHttpRequest, date_param, int_param, url_with, wants_partial
from feeds import citations, selectors
from feeds.labels import announce_text, display_text, journal_title, paper_card
from feeds.models import Paper
from feeds.pipeline.sanitise import safe_url


def today(request: HtmxHttpRequest) -> HttpResponse:
    """One announcement day's papers (the latest by default), filtered, 25 at a time."""
    filters = selectors.PaperFilters.from_query(request.GET)
    asked_day = date_param(request, "date")
    day = asked_day or selectors.latest_day(filters)
    after = int_param(request, "after") or None
    start = max(int_param(request, "n", 1), 1)
    context: dict[str, Any] = {"filters": filters, "day": day, "asked_day": asked_day}

    cards = []
    next_url = ""
    if day is not None:
        page = selectors.papers_of_day(day, filters, after=after)
        cards = [paper_card(p, start + i) for i, p in enumerate(page.papers)]
        if page.has_more:
            next_url = url_with(
                "today",
                {
                    **filters.params(),
                    "date": day.isoformat(),
                    "after": page.papers[-1].id,
                    "n": start + len(page.papers),
                },
            )
    context.update(cards=cards, papers=[c.paper for c in cards], next_url=next_url)

    if after and wants_partial(request):
        return render(request, "feeds/today.html#paper-items", context)

    if day is not None:
        previous_day, next_day = selectors.adjacent_days(day, filters)
        toc = selectors.day_toc(day)
        today_path = reverse("today")
        context.update(
            previous_url=previous_day
            and url_with("today", {**filters.params(), "date": previous_day.isoformat()}),
            next_day_url=next_day
            and url_with("today", {**filters.params(), "date": next_day.isoformat()}),
            previous_day=previous_day,
            next_day=next_day,
            toc=[
                {
                    "label": entry.label,
                    "count": number_format(entry.count, force_grouping=True),
                    "url": url_with(
                        "today", {**entry.params, "date": day.isoformat()}, path=today_path
                    ),
                }
                for entry in toc
            ],
            continued=bool(after),
            first_page_url=url_with("today", {**filters.params(), "date": day.isoformat()}),
        )
    context["choices"] = selectors.filter_choices()
    return render(request, "feeds/today.html", context)


def _paper_or_404(key: str) -> Paper:
    paper = selectors.paper_by_key(key)
    if paper is None:
        raise Http404("no such paper")
    return paper


def paper_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Everything about one paper, with Highwire citation_* tags for reference managers."""
    paper = _paper_or_404(key)
    card = paper_card(paper)
    day = paper.published or paper.announced
    sightings = [
        {
            "label": display_text(s.source.label),
            "announce": announce_text(s.announce_type, s.version),
            "first_seen": s.first_seen,
        }
        for s in paper.sightings.all()
    ]
    page_url = request.build_absolute_uri(reverse("feeds:paper", args=[paper.key]))
    context = {
        "card": card,
        "paper": paper,
        "papers": [paper],
        "sightings": sightings,
        "citation": {
            "publication_date": day.strftime("%Y/%m/%d") if day else "",
            "online_date": paper.announced.strftime("%Y/%m/%d"),
            "doi": display_text(paper.doi or paper.journal_doi),
            "pdf_url": safe_url((paper.links or {}).get("pdf")),
            "abstract_html_url": safe_url((paper.links or {}).get("abs")) or page_url,
            "journal_title": journal_title(paper),
        },
        "categories": [display_text(c) for c in paper.categories],
        "journal_ref": display_text(paper.journal_ref),
    }
    return render(request, "feeds/paper.html", context)


def _download_name(paper: Paper) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", paper.key).strip("._")[:100]


def paper_bibtex(request: HttpRequest, key: str) -> HttpResponse:
    """The paper as a BibTeX file."""
    paper = _paper_or_404(key)
    return citations.citations_download([paper], fmt="bib", name=_download_name(paper))


def paper_ris(request: HttpRequest, key: str) -> HttpResponse:
    """The paper as an RIS file."""
    paper = _paper_or_404(key)
    return citations.citations_download([paper], fmt="ris", name=_download_name(paper))


@staff_member_required
def source_health(request: HttpRequest) -> HttpResponse:
    """Every source with its polling state, for staff."""
    return render(request, "feeds/source_health.html", {"sources": selectors.sources_health()})
