"""Reads shared by views, commands and tasks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from feeds.labels import display_text
from feeds.models import ARXIV_KINDS, Paper, PaperSighting, Source
from feeds.names import arxiv_label, discipline_name, preprint_label, source_name

DAY_PAGE_SIZE = 25
_PREPRINT_SERVER_KINDS = [Source.Kind.BIORXIV_API, Source.Kind.MEDRXIV_API]


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


def display_sightings(
    prefix: str = "", *, whole: bool = False
) -> Prefetch[str, QuerySet[PaperSighting], str]:
    """The prefetch of papers' sightings (at `prefix`, e.g. "paper__"), first seen first,
    with what cards show of their sources (`feeds.labels`, `feeds.reference`,
    `feeds.export`): kind and label; `whole` rows for a page that lists the sightings."""
    sightings = PaperSighting.objects.select_related("source").order_by("first_seen", "id")
    if not whole:
        sightings = sightings.only(
            "id", "paper_id", "first_seen", "source__id", "source__kind", "source__label"
        )
    return Prefetch(f"{prefix}sightings", queryset=sightings)


def papers_by_name(names: Iterable[str], papers: QuerySet[Paper]) -> dict[str, Paper]:
    """The papers of `papers` these names name, by the name asked: a paper's key, its arXiv
    id or a DOI it carries (an arXiv paper's journal DOI finds it too); a paper's own key wins
    over another paper carrying it as an alias."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    found = papers.filter(
        Q(key__in=names) | Q(arxiv_id__in=names) | Q(doi__in=names) | Q(journal_doi__in=names)
    )
    by_name: dict[str, Paper] = {}
    for paper in found:
        for name in (paper.key, paper.arxiv_id, paper.doi.lower(), paper.journal_doi.lower()):
            if name in names and (name not in by_name or paper.key == name):
                by_name[name] = paper
    return by_name


def papers_for_display(papers: QuerySet[Paper]) -> QuerySet[Paper]:
    """`papers` with their sightings and sources loaded (one extra query) and no search vector."""
    return papers.defer("search_vector").prefetch_related(display_sightings())


# --- Today -----------------------------------------------------------------------------------


def news_horizon() -> date:
    """The last day a paper may be announced and still be news: a paper dated further ahead
    than tomorrow is a feed's mistake, and must not make any source's latest day."""
    return timezone.localdate() + timedelta(days=1)


def latest_day(filters: PaperFilters | None = None) -> date | None:
    """The most recent announcement day with (matching) papers; walks the announced index."""
    papers = (filters or PaperFilters()).apply(Paper.objects.all())
    return papers.order_by("-announced").values_list("announced", flat=True).first()


def adjacent_days(
    day: date, filters: PaperFilters, *, later: bool = True
) -> tuple[date | None, date | None]:
    """The nearest earlier and (unless not `later`) later days with matching papers (LIMIT 1
    index scans)."""
    papers = filters.apply(Paper.objects.all())
    before = (
        papers.filter(announced__lt=day)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
    )
    if not later:
        return before, None
    after = (
        papers.filter(announced__gt=day)
        .order_by("announced")
        .values_list("announced", flat=True)
        .first()
    )
    return before, after


@dataclass
class PaperPage:
    """One page of papers and whether there are more after it."""

    papers: list[Paper]
    has_more: bool


ANNOUNCE_RANK: dict[str, int] = {
    Paper.AnnounceType.NEW: 0,
    Paper.AnnounceType.CROSS: 1,
    Paper.AnnounceType.REPLACE: 2,
    Paper.AnnounceType.REPLACE_CROSS: 3,
}


def announce_order() -> Case:
    """An ORDER BY expression: new papers, then cross-lists, then replacements."""
    return Case(
        *(When(announce_type=kind, then=Value(rank)) for kind, rank in ANNOUNCE_RANK.items()),
        default=Value(len(ANNOUNCE_RANK)),
        output_field=IntegerField(),
    )


def papers_of_day(
    day: date, filters: PaperFilters, *, offset: int = 0, limit: int = DAY_PAGE_SIZE
) -> PaperPage:
    """A day's papers, new first (then cross-lists, then replacements), by `offset`."""
    papers = filters.apply(Paper.objects.filter(announced=day))
    ordered = papers_for_display(papers.order_by(announce_order(), "id"))
    rows = list(ordered[offset : offset + limit + 1])
    return PaperPage(papers=rows[:limit], has_more=len(rows) > limit)


SEP = "\x1f"


def toc_label(via: str, category: str, medrxiv: bool) -> tuple[str, dict[str, str]]:
    """The label (in the current language) and filter of a table-of-contents group (see
    `feeds.labels.source_label`)."""
    kind, slug, label = [*via.split(SEP, 2), "", ""][:3]
    if kind in ARXIV_KINDS:
        return arxiv_label(category), {"category": category} if category else {}
    if kind in _PREPRINT_SERVER_KINDS:
        server = "medRxiv" if medrxiv else "bioRxiv"
        params = {"category": category} if category else {"source": slug}
        return preprint_label(server, category), params
    return source_name(display_text(label)), {"source": slug}


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers: sources (slug, label), disciplines (stored value, shown
    name) and announcement types, shown in the current language."""

    sources: list[tuple[str, str]]
    disciplines: list[tuple[str, str]]
    announce_types: list[tuple[str, str]]


def source_choices(rows: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """(slug, the name readers see) of sources given as (slug, label, enabled), by name. A
    source that is not polled and shares its name with another (the bundled samples beside
    the live feeds: "Nature", "Nature") is named as disabled, so the two can be told apart."""
    named = [(slug, source_name(display_text(label)), enabled) for slug, label, enabled in rows]
    counts = Counter(name for _slug, name, _enabled in named)
    choices = [
        (slug, name if enabled or counts[name] == 1 else _("%(name)s (disabled)") % {"name": name})
        for slug, name, enabled in named
    ]
    return sorted(choices, key=lambda choice: (choice[1].casefold(), choice[0]))


def filter_choices() -> FilterChoices:
    """The sources and disciplines to filter by, in one query."""
    rows = list(Source.objects.values_list("slug", "label", "discipline", "enabled"))
    sources = source_choices([(slug, label, enabled) for slug, label, _, enabled in rows])
    disciplines = [(d, discipline_name(display_text(d))) for d in {d for _, _, d, _ in rows if d}]
    return FilterChoices(
        sources=sources,
        disciplines=sorted(disciplines, key=lambda choice: choice[1].casefold()),
        announce_types=[(value, str(label)) for value, label in Paper.AnnounceType.choices],
    )


# --- Paper page ------------------------------------------------------------------------------


def paper_by_key(key: str) -> Paper | None:
    """One paper with its sightings and their sources (whole: the page lists them), or None."""
    papers = Paper.objects.filter(key=key).defer("search_vector")
    return papers.prefetch_related(display_sightings(whole=True)).first()


def sources_health() -> QuerySet[Source]:
    """Sources with the number of papers each has carried."""
    return Source.objects.annotate(paper_count=Count("sightings")).order_by("kind", "label")
