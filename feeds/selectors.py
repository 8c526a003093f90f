"""Reads shared by views, commands and tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import cast

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Concat
from django.http import QueryDict

from feeds.labels import display_text
from feeds.models import Paper, PaperSighting, Source

DAY_PAGE_SIZE = 25
_PREPRINT_SERVER_KINDS = [Source.Kind.BIORXIV_API, Source.Kind.MEDRXIV_API]
_ARXIV_KINDS = [Source.Kind.ARXIV_RSS, Source.Kind.ARXIV_API]


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@dataclass(frozen=True)
class PaperFilters:
    """The filters Today and search share; every one optional, combined with AND."""

    source: str = ""
    discipline: str = ""
    category: str = ""
    announce_type: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_query(cls, params: QueryDict) -> PaperFilters:
        """Read the filters from GET parameters, ignoring values that cannot be valid."""
        return cls.cleaned(
            source=params.get("source", ""),
            discipline=params.get("discipline", ""),
            category=params.get("category", ""),
            announce_type=params.get("announce_type", ""),
            date_from=_parse_date(params.get("from")),
            date_to=_parse_date(params.get("to")),
        )

    @classmethod
    def cleaned(
        cls,
        *,
        source: str = "",
        discipline: str = "",
        category: str = "",
        announce_type: str = "",
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> PaperFilters:
        """The filters from untrusted values: text cleaned and cut, an unknown type dropped."""
        if announce_type not in Paper.AnnounceType.values:
            announce_type = ""

        def text(value: str) -> str:
            # NUL cannot reach PostgreSQL (it raises); other controls are never meaningful.
            return display_text(value).strip()[:80]

        return cls(
            source=text(source),
            discipline=text(discipline),
            category=text(category),
            announce_type=announce_type,
            date_from=date_from,
            date_to=date_to,
        )

    def params(self) -> dict[str, str]:
        """The filters as GET parameters (only those set)."""
        values = {
            "source": self.source,
            "discipline": self.discipline,
            "category": self.category,
            "announce_type": self.announce_type,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.params())

    def apply(self, papers: QuerySet[Paper]) -> QuerySet[Paper]:
        """`papers` narrowed by every filter that is set."""
        if self.source:
            papers = papers.filter(
                Exists(
                    PaperSighting.objects.filter(paper_id=OuterRef("pk"), source__slug=self.source)
                )
            )
        if self.discipline:
            papers = papers.filter(
                Exists(
                    PaperSighting.objects.filter(
                        paper_id=OuterRef("pk"), source__discipline=self.discipline
                    )
                )
            )
        if self.category:
            # arXiv categories keep their case (cs.CL), bioRxiv's are stored lower-case.
            wanted = sorted({self.category, self.category.lower()})
            condition = Q()
            for value in wanted:
                condition |= Q(categories__contains=[value])
            papers = papers.filter(condition)
        if self.announce_type:
            papers = papers.filter(announce_type=self.announce_type)
        if self.date_from:
            papers = papers.filter(announced__gte=self.date_from)
        if self.date_to:
            papers = papers.filter(announced__lte=self.date_to)
        return papers


def papers_for_display(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """`papers` with their sightings and sources loaded (one extra query) and no search vector."""
    sightings = PaperSighting.objects.select_related("source").order_by("first_seen", "id")
    return papers.defer("search_vector").prefetch_related(Prefetch("sightings", queryset=sightings))


# --- Today -----------------------------------------------------------------------------------


def latest_day(filters: PaperFilters | None = None) -> date | None:
    """The most recent announcement day with (matching) papers; walks the announced index."""
    papers = (filters or PaperFilters()).apply(Paper.objects.all())
    return papers.order_by("-announced").values_list("announced", flat=True).first()


def adjacent_days(day: date, filters: PaperFilters) -> tuple[date | None, date | None]:
    """The nearest earlier and later days with matching papers (two LIMIT 1 index scans)."""
    papers = filters.apply(Paper.objects.all())
    earlier = (
        papers.filter(announced__lt=day)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
    )
    later = (
        papers.filter(announced__gt=day)
        .order_by("announced")
        .values_list("announced", flat=True)
        .first()
    )
    return earlier, later


@dataclass
class PaperPage:
    """One page of papers and whether there are more after it."""

    papers: list[Paper]
    has_more: bool


def papers_of_day(
    day: date,
    filters: PaperFilters,
    *,
    after: int | None = None,
    offset: int = 0,
    limit: int = DAY_PAGE_SIZE,
) -> PaperPage:
    """A day's papers in id order, keyset-paginated (those with id > `after`) or by `offset`."""
    papers = filters.apply(Paper.objects.filter(announced=day))
    if after:
        papers = papers.filter(id__gt=after)
    rows = list(papers_for_display(papers.order_by("id"))[offset : offset + limit + 1])
    return PaperPage(papers=rows[:limit], has_more=len(rows) > limit)


@dataclass(frozen=True)
class TocEntry:
    """One line of a day's table of contents: a source label and how many papers it has."""

    label: str
    count: int
    params: dict[str, str] = field(default_factory=dict)


_SEP = "\x1f"


def day_toc(day: date) -> list[TocEntry]:
    """Papers per source label on `day`, cached for a few minutes (see `_day_toc`)."""
    # The grouped query costs 10-20 ms on a busy day with a million papers; counts a few
    # minutes old are fine for a table of contents.
    toc = cache.get_or_set(f"feeds:day_toc:{day.isoformat()}", lambda: _day_toc(day), 300)
    return cast(list[TocEntry], toc)


def _day_toc(day: date) -> list[TocEntry]:
    """Papers per source label on `day`, in one grouped query over that day's papers.

    The groups follow `feeds.labels.source_label`: arXiv papers by primary category, others
    by their first sighting's source (bioRxiv and medRxiv then by category). Each paper falls
    in exactly one group, so groups with the same label can be summed.
    """
    first_source = (
        PaperSighting.objects.filter(paper_id=OuterRef("pk"))
        .order_by("first_seen", "id")
        .annotate(
            via=Concat(
                "source__kind",
                Value(_SEP),
                "source__slug",
                Value(_SEP),
                "source__label",
                output_field=TextField(),
            )
        )
        .values("via")[:1]
    )
    rows = (
        Paper.objects.filter(announced=day)
        .alias(abs_link=KT("links__abs"))
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
        .values("via", "primary_category", "medrxiv")
        .annotate(count=Count("id"))
        .order_by()
    )
    merged: dict[str, TocEntry] = {}
    for row in rows:
        if not row["via"]:
            continue  # a paper no source carried (only made by hand): it has no label
        label, params = _toc_label(row["via"], row["primary_category"], row["medrxiv"])
        previous = merged.get(label)
        count = row["count"] + (previous.count if previous else 0)
        merged[label] = TocEntry(label=label, count=count, params=params)
    # Biggest sources first, like a table of contents of the day.
    return sorted(merged.values(), key=lambda e: (-e.count, e.label.casefold()))


def _toc_label(via: str, category: str, medrxiv: bool) -> tuple[str, dict[str, str]]:
    """The label and filter of a table-of-contents group (see `feeds.labels.source_label`)."""
    kind, slug, label = [*via.split(_SEP, 2), "", ""][:3]
    if kind in _ARXIV_KINDS:
        if category:
            return f"arXiv ({category})", {"category": category}
        return "arXiv", {}
    if kind in _PREPRINT_SERVER_KINDS:
        server = "medRxiv" if medrxiv else "bioRxiv"
        if category:
            return f"{server} ({category.title()})", {"category": category}
        return server, {"source": slug}
    return display_text(label), {"source": slug}


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers: sources (slug, label) and disciplines."""

    sources: list[tuple[str, str]]
    disciplines: list[str]
    announce_types: list[tuple[str, str]]


def filter_choices() -> FilterChoices:
    """The sources and disciplines to filter by, in one query."""
    rows = list(Source.objects.order_by("label").values_list("slug", "label", "discipline"))
    return FilterChoices(
        sources=[(slug, display_text(label)) for slug, label, _ in rows],
        disciplines=sorted({d for _, _, d in rows if d}),
        announce_types=[(value, str(label)) for value, label in Paper.AnnounceType.choices],
    )


# --- Paper page ------------------------------------------------------------------------------


def paper_by_key(key: str) -> Paper | None:
    """One paper with its sightings and their sources, or None."""
    return papers_for_display(Paper.objects.filter(key=key)).first()


def sources_health() -> QuerySet[Source]:
    """Sources with the number of papers each has carried."""
    return Source.objects.annotate(paper_count=Count("sightings")).order_by("kind", "label")
