"""Pages of the feeds app: today's papers, the paper page with citations, source health."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from academichub.web import (
    UNSTORABLE,
    HtmxHttpRequest,
    date_param,
    int_param,
    url_with,
    wants_partial,
)
from feeds import citations, front, selectors
from feeds.labels import announce_text, display_text, paper_card
from feeds.models import Paper
from feeds.names import paper_category_label, source_name
from feeds.pipeline.sanitise import safe_url
from feeds.pipeline.text import clean_title
from feeds.reference import PartialDate, paper_reference


def today(request: HtmxHttpRequest) -> HttpResponse:
    """The front page: every source family's latest papers in sections, or one day's.

    With a filter set it is one day's list instead (the latest day with matching papers by
    default), new papers first, 25 at a time.
    """
    filters = selectors.PaperFilters.from_query(request.GET)
    asked_day = date_param(request, "date")
    context: dict[str, Any] = {"filters": filters, "asked_day": asked_day}
    if filters.active:
        return _day_list(request, filters, asked_day, context)

    families: list[dict[str, Any]] = []
    at = front.version()
    if asked_day:
        days = {"": asked_day}
        context.update(_day_nav(asked_day, filters))
    else:
        days = front.latest_days(at)
        if days:
            # Not a step back from the newest family's day: another family's latest day may
            # be that day, already on this page.
            context.update(_day_links(front.previous_day(days, at), None, filters))
        families = front.family_links(days)
    context.update(day=asked_day or (max(days.values()) if days else None), families=families)
    context["choices"] = selectors.filter_choices()
    if context["day"] is not None:
        context["digest_html"] = _digest_html(request, at, asked_day, days)
    return render(request, "feeds/today.html", context)


# How long a visitor's front page is reused: the papers are keyed by `front.version`, so only a
# summary finished in the meantime can show up to this late (a pending one polls on its own).
VISITOR_PAGE_SECONDS = 60


def _digest_html(
    request: HtmxHttpRequest, at: int, asked_day: date | None, days: dict[str, date]
) -> SafeString:
    """The contents, sections and updated papers of the front page (feeds/_digest.html).

    The same for every visitor who is not signed in (no saved stars, no forms), so theirs is
    rendered once per minute, per language and day, and reused from the cache. Only the
    front page's own addresses are (`/`, `/?date=…`): others, which anyone can make up, are
    rendered each time rather than filling the cache.
    """
    key = None
    if not request.user.is_authenticated and not settings.DEBUG and set(request.GET) <= {"date"}:
        day = asked_day.isoformat() if asked_day else "latest"
        key = f"feeds:today:visitor:{at}:{get_language()}:{day}"
        cached = cache.get(key)
        if isinstance(cached, str):
            return mark_safe(cached)  # noqa: S308 (our own rendering, see below)
    rows = front.rows_of_day(asked_day, at) if asked_day else front.rows_latest(days, at)
    page = front.overview(rows)
    sections: list[dict[str, Any]] = [
        {
            "section": section,
            "cards": [paper_card(p, section.first_number + i) for i, p in enumerate(section.shown)],
            "all_url": _section_url(section),
        }
        for section in page.sections
        if section.shown
    ]
    context: dict[str, Any] = {
        "overview": page,
        "toc": [
            _toc_entry(section, f"#{section.anchor}" if section.shown else _section_url(section))
            for section in page.sections
        ],
        "sections": sections,
        "papers": [c.paper for s in sections for c in s["cards"]],
        "more_sections": len(page.sections) - len(sections),
    }
    if page.updated:
        context.update(
            updated=page.updated,
            updated_cards=[
                paper_card(p, page.updated.first_number + i)
                for i, p in enumerate(page.updated.shown)
            ],
            updated_url=url_with(
                "today", {"announce_type": "replace", "date": page.updated.day.isoformat()}
            ),
        )
    html = render_to_string("feeds/_digest.html", context, request)
    if key is not None:
        cache.set(key, html, VISITOR_PAGE_SECONDS)
    return mark_safe(html)  # noqa: S308 (a template's autoescaped output)


def _section_url(section: front.Section) -> str:
    """The section's whole list: its day, filtered to its source or category."""
    return url_with("today", {**section.params, "date": section.day.isoformat()})


def _toc_entry(section: front.Section, url: str) -> dict[str, str]:
    """One entry of the table of contents: the section's label and count, linked to `url`."""
    return {
        "label": section.label,
        "count": number_format(section.count, force_grouping=True),
        "url": url,
    }


def _day_nav(day: date, filters: selectors.PaperFilters) -> dict[str, Any]:
    return _day_links(*selectors.adjacent_days(day, filters), filters)


def _day_links(
    previous_day: date | None, next_day: date | None, filters: selectors.PaperFilters
) -> dict[str, Any]:
    return {
        "previous_day": previous_day,
        "next_day": next_day,
        "previous_url": previous_day
        and url_with("today", {**filters.params(), "date": previous_day.isoformat()}),
        "next_day_url": next_day
        and url_with("today", {**filters.params(), "date": next_day.isoformat()}),
    }


def _day_list(
    request: HtmxHttpRequest,
    filters: selectors.PaperFilters,
    asked_day: date | None,
    context: dict[str, Any],
) -> HttpResponse:
    """One day's papers that match the filters, new first, numbered, 25 at a time."""
    day = asked_day or selectors.latest_day(filters)
    start = max(int_param(request, "n", 1), 1)
    context["day"] = day
    cards = []
    next_url = ""
    if day is not None:
        page = selectors.papers_of_day(day, filters, offset=start - 1)
        cards = [paper_card(p, start + i) for i, p in enumerate(page.papers)]
        if page.has_more:
            next_url = url_with(
                "today",
                {**filters.params(), "date": day.isoformat(), "n": start + len(page.papers)},
            )
    context.update(cards=cards, papers=[c.paper for c in cards], next_url=next_url)

    if start > 1 and wants_partial(request):
        return render(request, "feeds/today.html#paper-items", context)

    if day is not None:
        sections = front.overview_sections(front.rows_of_day(day, front.version()))
        context.update(
            _day_nav(day, filters),
            toc=[_toc_entry(section, _section_url(section)) for section in sections],
            continued=start > 1,
            first_page_url=url_with("today", {**filters.params(), "date": day.isoformat()}),
        )
    context["choices"] = selectors.filter_choices()
    return render(request, "feeds/today.html", context)


# Keys are stored text: one holding a character PostgreSQL or XML cannot store names nothing.


def _paper_or_404(key: str) -> Paper:
    if UNSTORABLE.search(key) or len(key) > 255:
        raise Http404("no such paper")
    paper = selectors.paper_by_key(key)
    if paper is None:
        raise Http404("no such paper")
    return paper


def paper_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Everything about one paper, with Highwire citation_* tags for reference managers."""
    paper = _paper_or_404(key)
    card = paper_card(paper)
    ref = paper_reference(paper)
    sightings = [
        {
            "label": source_name(display_text(s.source.label)),
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
        # The same date, journal and pages as the paper's BibTeX and RIS (feeds.reference).
        "citation": {
            "publication_date": ref.cited.slashed(),
            "online_date": paper.announced.strftime("%Y/%m/%d"),
            "doi": display_text(paper.doi or paper.journal_doi),
            "pdf_url": safe_url((paper.links or {}).get("pdf")),
            "abstract_html_url": safe_url((paper.links or {}).get("abs")) or page_url,
            # Google Scholar reads a preprint server as the journal; arXiv has its own tag.
            "journal_title": ref.journal or ("" if ref.server == "arXiv" else ref.server),
            "volume": ref.volume,
            "issue": ref.number,
            "firstpage": ref.pages.partition("-")[0],
            "lastpage": ref.pages.partition("-")[2],
        },
        "dates": {
            "submitted": _date_shown(ref.submitted),
            "announced": _date_shown(PartialDate.of(paper.announced)),
            "published": _date_shown(ref.published),
        },
        "categories": [paper_category_label(display_text(c)) for c in paper.categories],
        "journal_ref": clean_title(display_text(paper.journal_ref)),
    }
    return render(request, "feeds/paper.html", context)


def _date_shown(day: PartialDate | None) -> dict[str, Any] | None:
    """A date as precise as it is known, for `<time>`: its ISO form, a day to format, and the
    format (a day, "November 2024", or a year)."""
    if day is None:
        return None
    fmt = "DATE_FORMAT" if day.day else "YEAR_MONTH_FORMAT" if day.month else "Y"
    return {"iso": day.slashed().replace("/", "-"), "day": day.as_date(), "format": fmt}


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
