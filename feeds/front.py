"""The front page's reads: what is new now in every source family, in sections.

A *family* is what a reader expects one announcement of at a time: arXiv (a mailing a day),
bioRxiv, medRxiv, and each journal feed. The front page shows every family's latest day at
once, so a three-paper feed that announced today cannot hide yesterday's arXiv mailing.

A day (or the families' latest days) is laid out like the day's table of contents: one
section per source label ("arXiv (cs.CL)", "bioRxiv (Genomics)", "Nature"), new papers
before cross-lists, biggest sections first; replacements of every section go to one folded
"updated papers" list at the end. The overview shows the first papers of each section up to
a page budget; each section links to its whole list (the day filtered to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, cast

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Concat

from academichub.web import url_with
from feeds.labels import display_text
from feeds.models import ARXIV_KINDS, Paper, PaperSighting, Source
from feeds.selectors import (
    ANNOUNCE_RANK,
    SEP,
    announce_order,
    news_horizon,
    papers_for_display,
    toc_label,
)

# Papers a section shows on the overview before its "all N papers" link; a section of at
# most SECTION_WHOLE papers is shown whole rather than cut one or two short.
SECTION_SHOWN = 5
SECTION_WHOLE = 7
# Cards of the overview: later sections are reached from the table of contents.
PAGE_CARDS = 25
# Replacements listed (titles only) in the folded "updated papers" section.
UPDATED_SHOWN = 10
# The families' latest days and a day's rows are cached this long (seconds); a poll that
# adds papers changes the cache key (`version`, the newest paper id), so new papers show at
# once.
CACHE_SECONDS = 300

_REPLACED = {Paper.AnnounceType.REPLACE.value, Paper.AnnounceType.REPLACE_CROSS.value}


# --- Families --------------------------------------------------------------------------------


def _family_of(kind: str, slug: str) -> str:
    if kind in ARXIV_KINDS:
        return "arxiv"
    if kind == Source.Kind.BIORXIV_API:
        return "biorxiv"
    if kind == Source.Kind.MEDRXIV_API:
        return "medrxiv"
    return f"source:{slug}"


def version() -> int:
    """The newest paper's id: the caches' key, which any poll that stores a paper moves."""
    return Paper.objects.order_by("-id").values_list("id", flat=True).first() or 0


def latest_days(at: int) -> dict[str, date]:
    """Each source family's latest announcement day, newest family first (cached at `at`,
    the `version`)."""
    key = f"feeds:front:latest:{at}"
    return cast(dict[str, date], cache.get_or_set(key, _latest_days, CACHE_SECONDS))


def _latest_days() -> dict[str, date]:
    horizon = news_horizon()
    days: dict[str, date] = {}
    arxiv = (
        Paper.objects.filter(arxiv_id__gt="", announced__lte=horizon)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
    )
    if arxiv:
        days["arxiv"] = arxiv
    others = Source.objects.exclude(kind__in=ARXIV_KINDS).annotate(
        latest=Subquery(
            PaperSighting.objects.filter(
                source_id=OuterRef("pk"), paper__arxiv_id="", paper__announced__lte=horizon
            )
            .order_by()
            .values("source_id")
            .annotate(day=Max("paper__announced"))
            .values("day")[:1]
        )
    )
    for kind, slug, latest in others.values_list("kind", "slug", "latest"):
        family = _family_of(kind, slug)
        if latest and (family not in days or latest > days[family]):
            days[family] = latest
    return dict(sorted(days.items(), key=lambda item: (-item[1].toordinal(), item[0])))


def _family(family: str) -> Q:
    if family == "arxiv":
        return Q(arxiv_id__gt="")
    if family in ("biorxiv", "medrxiv"):
        kind = Source.Kind.BIORXIV_API if family == "biorxiv" else Source.Kind.MEDRXIV_API
        carried = PaperSighting.objects.filter(paper_id=OuterRef("pk"), source__kind=kind)
    else:
        slug = family.removeprefix("source:")
        carried = PaperSighting.objects.filter(paper_id=OuterRef("pk"), source__slug=slug)
    return Q(arxiv_id="") & Q(Exists(carried))


def _family_papers(family: str, day: date) -> Q:
    return _family(family) & Q(announced=day)


def previous_day(days: dict[str, date], at: int) -> date | None:
    """The newest day with papers the front page (`days`, every family's latest) does not
    show: each family's day before its latest, the newest of them (cached at `at`)."""
    if not days:
        return None
    key = "feeds:front:previous:" + ",".join(f"{f}={d}" for f, d in days.items())
    return cast(
        date | None, cache.get_or_set(f"{key}:{at}", lambda: _previous_day(days), CACHE_SECONDS)
    )


def _previous_day(days: dict[str, date]) -> date | None:
    earlier = [
        # one LIMIT 1 scan of the announced index per family
        Paper.objects.filter(_family(family), announced__lt=day)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
        for family, day in days.items()
    ]
    return max((day for day in earlier if day), default=None)


# --- Rows and sections -----------------------------------------------------------------------


class Row(NamedTuple):
    """One paper of the page, with just what sections need (cached as plain tuples: a busy
    day has thousands, and tuples unpickle several times faster than objects)."""

    id: int
    announce_type: str
    category: str
    via: str  # kind␟slug␟label of the first source that carried it (see toc_label)
    medrxiv: bool
    announced: date


def _rows(papers: QuerySet[Paper]) -> list[Row]:
    first_source = (
        PaperSighting.objects.filter(paper_id=OuterRef("pk"))
        .order_by("first_seen", "id")
        .annotate(
            via=Concat(
                "source__kind",
                Value(SEP),
                "source__slug",
                Value(SEP),
                "source__label",
                output_field=TextField(),
            )
        )
        .values("via")[:1]
    )
    rows = (
        papers.alias(abs_link=KT("links__abs"))
        .annotate(
            # CASE evaluates the subquery only for papers without an arXiv id.
            via=Case(
                When(arxiv_id__gt="", then=Value(Source.Kind.ARXIV_RSS.value)),
                default=Subquery(first_source),
                output_field=TextField(),
            ),
            medrxiv=Case(
                When(Q(abs_link__contains="medrxiv.org"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .order_by(announce_order(), "id")
        .values_list("id", "announce_type", "primary_category", "via", "medrxiv", "announced")
    )
    # A paper no source carried (made by hand) has no label and no place on the page.
    return [Row(*values) for values in rows if values[3]]


def _cached_rows(key: str, papers: Callable[[], QuerySet[Paper]]) -> list[Row]:
    values = cache.get_or_set(key, lambda: [tuple(row) for row in _rows(papers())], CACHE_SECONDS)
    return [Row._make(row) for row in cast(list[tuple[Any, ...]], values)]


def rows_of_day(day: date, at: int) -> list[Row]:
    """Every paper announced on `day`, new first (cached at `at`, the `version`)."""
    key = f"feeds:front:v2:day:{day.isoformat()}:{at}"
    return _cached_rows(key, lambda: Paper.objects.filter(announced=day))


def rows_latest(days: dict[str, date], at: int) -> list[Row]:
    """The papers of every family's latest day, new first (cached at `at`, the `version`)."""
    if not days:
        return []
    condition = Q()
    for family, day in days.items():
        condition |= _family_papers(family, day)
    key = "feeds:front:v2:latest-rows:" + ",".join(f"{f}={d}" for f, d in days.items())
    return _cached_rows(f"{key}:{at}", lambda: Paper.objects.filter(condition))


@dataclass
class Section:
    """Papers under one source label: what the table of contents lists and links to."""

    label: str
    params: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    shown: list[Paper] = field(default_factory=list)
    first_number: int = 0

    @property
    def anchor(self) -> str:
        """The section's id on the page, the same in every language."""
        text = "-".join(f"{k}-{v}" for k, v in sorted(self.params.items())) or "other"
        return "s-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

    @property
    def family(self) -> str:
        """The source family the section belongs to (see `latest_days`)."""
        kind, slug = [*self.rows[0].via.split(SEP, 2), ""][:2]
        return _family_of(kind, slug)

    @property
    def count(self) -> int:
        """Papers in the section."""
        return len(self.rows)

    @property
    def day(self) -> date:
        """The section's announcement day (its newest, should families share a label)."""
        return max(row.announced for row in self.rows)

    @property
    def more(self) -> int:
        """Papers of the section the overview does not show."""
        return self.count - len(self.shown) if self.shown else 0


@dataclass
class Overview:
    """The page: its sections (new papers and cross-lists) and the folded replacements."""

    sections: list[Section]
    updated: Section | None

    @property
    def total(self) -> int:
        """Papers on the page's days, replacements included."""
        return sum(s.count for s in self.sections) + (self.updated.count if self.updated else 0)


def overview_sections(rows: list[Row]) -> list[Section]:
    """New papers and cross-lists of `rows` by source label: newest day, then biggest first."""
    # Label each kind of row once (a busy day has thousands of rows and a hundred kinds).
    kinds: dict[tuple[str, str, bool], list[Row]] = {}
    for row in rows:
        if row.announce_type not in _REPLACED:
            kinds.setdefault((row.via, row.category, row.medrxiv), []).append(row)
    groups: dict[str, Section] = {}
    for (via, category, medrxiv), members in kinds.items():
        label, params = toc_label(via, category, medrxiv)
        section = groups.setdefault(label, Section(label=label, params=params))
        if section.rows:  # a second kind under the same label: keep new-first order
            section.rows = sorted(
                [*section.rows, *members],
                key=lambda r: (ANNOUNCE_RANK.get(r.announce_type, 9), r.id),
            )
        else:
            section.rows = members
    return sorted(groups.values(), key=lambda s: (-s.day.toordinal(), -s.count, s.label.casefold()))


def overview(rows: list[Row]) -> Overview:
    """`rows` in sections, with the papers the page shows loaded (one query and a prefetch).

    Sections show their first SECTION_SHOWN papers (all, when at most SECTION_WHOLE) until
    PAGE_CARDS cards are on the page, the first section of every family before the rest, so
    no source is crowded out; numbering runs on through the sections without gaps.
    """
    sections = overview_sections(rows)
    firsts: dict[str, int] = {}
    for n, section in enumerate(sections):
        firsts.setdefault(section.family, n)
    budget = PAGE_CARDS
    takes: dict[int, int] = {}
    for n in [*firsts.values(), *range(len(sections))]:
        count = sections[n].count
        take = min(count if count <= SECTION_WHOLE else SECTION_SHOWN, budget)
        if n in takes or take <= 0:
            continue
        takes[n] = take
        budget -= take
    picks = {n: [row.id for row in sections[n].rows[: takes[n]]] for n in sorted(takes)}
    # Replacements in a stable order by category (cs.AI, cs.CL, …, then id), as a reader
    # scans a list of titles for their fields, whatever order the rows came in.
    replaced = sorted(
        (row for row in rows if row.announce_type in _REPLACED), key=lambda r: (r.category, r.id)
    )
    updated = Section(label="", params={"announce_type": "replace"}, rows=replaced)
    shown_updated = [row.id for row in replaced[:UPDATED_SHOWN]]
    papers = _papers([pid for ids in picks.values() for pid in ids] + shown_updated)
    number = 1
    for n, ids in picks.items():
        sections[n].shown = [papers[pid] for pid in ids]
        sections[n].first_number = number
        number += len(ids)
    updated.shown = [papers[pid] for pid in shown_updated]
    updated.first_number = number
    return Overview(sections=sections, updated=updated if replaced else None)


def family_labels(days: dict[str, date]) -> dict[str, str]:
    """How each family of `days` is named: arXiv, bioRxiv, medRxiv or the journal's label."""
    slugs = [f.removeprefix("source:") for f in days if f.startswith("source:")]
    journals = dict(Source.objects.filter(slug__in=slugs).values_list("slug", "label"))
    names = {"arxiv": "arXiv", "biorxiv": "bioRxiv", "medrxiv": "medRxiv"}
    return {
        family: names.get(family) or display_text(journals.get(family[7:], family[7:]))
        for family in days
    }


def family_links(days: dict[str, date]) -> list[dict[str, Any]]:
    """The "Latest announcements" line: each family's name and latest day, linked to that day."""
    labels = family_labels(days)
    return [
        {"label": labels[family], "day": day, "url": url_with("today", {"date": day.isoformat()})}
        for family, day in days.items()
    ]


def _papers(ids: Iterable[int]) -> dict[int, Paper]:
    wanted = list(ids)
    if not wanted:
        return {}
    return {p.pk: p for p in papers_for_display(Paper.objects.filter(id__in=wanted))}
