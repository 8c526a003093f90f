"""A briefing as pages, emails and the API show it: its stored content with every cited paper
id resolved to the paper (numbered best first), and the plain-dict export for the JSON API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse

from digests.models import Briefing
from feeds.labels import PaperCard, display_text, paper_card, source_label
from feeds.models import Paper, PaperSighting
from feeds.names import arxiv_discipline, discipline_name


@dataclass(slots=True)
class CitedPaper:
    """A paper of a briefing: its number there, its card data, field and listed line."""

    number: int
    card: PaperCard
    field: str
    # The paper page's path (computed once per briefing, not once per email).
    path: str
    # The TL;DR (or abstract opening) stored with a briefing made without the model.
    line: str = ""

    @property
    def paper(self) -> Paper:
        """The paper itself."""
        return self.card.paper


@dataclass(slots=True)
class ThemeView:
    """A theme: title, the model's synthesis ("" without a model) and the papers it cites."""

    title: str
    synthesis: str
    papers: list[CitedPaper]
    # A theme made without the model: its name without the count in its title ("" when
    # its papers share nothing); the model's themes have none (the title is the name).
    name: str = ""


@dataclass(slots=True)
class LinkView:
    """An insight connecting two fields, with the papers it rests on."""

    fields: list[str]
    insight: str
    papers: list[CitedPaper]


@dataclass(slots=True)
class PickView:
    """A paper to read first and why ("" without a model)."""

    paper: CitedPaper
    why: str


@dataclass(slots=True)
class BriefingView:
    """Everything a briefing page or email shows."""

    briefing: Briefing
    mode: str
    headline: str
    # Why a `fallback` briefing has no analysis (an LLMError kind: budget, bad_output, …).
    reason: str = ""
    themes: list[ThemeView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    picks: list[PickView] = field(default_factory=list)
    papers: list[CitedPaper] = field(default_factory=list)
    fields: list[tuple[str, int]] = field(default_factory=list)
    # Matches of the window beyond those briefed.
    more: int = 0

    @property
    def written_by_model(self) -> bool:
        """Whether the texts come from the LLM (validated), rather than from the data alone."""
        return self.mode == "llm"

    @property
    def cited(self) -> list[CitedPaper]:
        """The papers cited anywhere in the briefing, in number order."""
        ids = {p.paper.pk for t in self.themes for p in t.papers}
        ids |= {p.paper.pk for link in self.links for p in link.papers}
        ids |= {pick.paper.paper.pk for pick in self.picks}
        return [p for p in self.papers if p.paper.pk in ids]


def paper_field(paper: Paper) -> str:
    """A paper's field in the current language: an arXiv paper's by its primary category
    (a feed of every archive, or a category's cross-lists, would say otherwise), else its
    first source's discipline, else the source label (sightings prefetched with sources)."""
    discipline = arxiv_discipline(paper.primary_category) if paper.arxiv_id else ""
    if discipline:
        return discipline_name(discipline)
    sightings = sorted(paper.sightings.all(), key=lambda s: (s.first_seen, s.pk))
    if sightings and sightings[0].source.discipline:
        return discipline_name(display_text(sightings[0].source.discipline))
    return source_label(paper)


def _papers(ids: Iterable[int]) -> dict[int, Paper]:
    sightings = PaperSighting.objects.select_related("source").order_by("first_seen", "id")
    papers = (
        Paper.objects.filter(id__in=set(ids))
        .defer("search_vector")
        .prefetch_related(Prefetch("sightings", queryset=sightings))
    )
    return {p.pk: p for p in papers}


def briefing_views(briefings: Iterable[Briefing]) -> dict[int, BriefingView]:
    """Views of these briefings by id, their papers loaded together (two queries)."""
    briefings = list(briefings)
    papers = _papers(pid for b in briefings for pid in b.paper_ids)
    return {b.pk: _view(b, papers) for b in briefings}


def briefing_view(briefing: Briefing) -> BriefingView:
    """The view of one briefing (two queries)."""
    return briefing_views([briefing])[briefing.pk]


def _view(briefing: Briefing, papers: dict[int, Paper]) -> BriefingView:
    content: dict[str, Any] = briefing.content if isinstance(briefing.content, dict) else {}
    lines = content.get("lines") or {}
    numbered: dict[int, CitedPaper] = {}
    for number, pid in enumerate(briefing.paper_ids, start=1):
        paper = papers.get(pid)
        if paper is not None:  # a paper deleted since is left out
            numbered[pid] = CitedPaper(
                number=number,
                card=paper_card(paper, number),
                field=paper_field(paper),
                path=reverse("feeds:paper", args=[paper.key]),
                line=str(lines.get(str(pid), "")),
            )

    def cited(ids: Any) -> list[CitedPaper]:
        return [numbered[i] for i in ids or [] if isinstance(i, int) and i in numbered]

    view = BriefingView(
        briefing=briefing,
        mode=str(content.get("mode", "")),
        headline=str(content.get("headline", "")),
        reason=str(content.get("reason", "")),
        papers=list(numbered.values()),
        more=max(0, briefing.match_count - len(briefing.paper_ids)),
    )
    for theme in content.get("themes") or []:
        view.themes.append(
            ThemeView(
                title=str(theme.get("title", "")),
                synthesis=str(theme.get("synthesis", "")),
                papers=cited(theme.get("papers")),
                name=str(theme.get("name", "")),
            )
        )
    for link in content.get("links") or []:
        view.links.append(
            LinkView(
                fields=[str(f) for f in link.get("fields") or []],
                insight=str(link.get("insight", "")),
                papers=cited(link.get("papers")),
            )
        )
    for pick in content.get("read_first") or []:
        found = cited([pick.get("paper")])
        if found:
            view.picks.append(PickView(paper=found[0], why=str(pick.get("why", ""))))
    view.fields = Counter(p.field for p in view.papers if p.field).most_common()
    return view


# --- Export (the JSON API) -------------------------------------------------------------------


def briefing_summary(briefing: Briefing) -> dict[str, Any]:
    """A briefing as an API list row (no paper queries; the radar must be loaded)."""
    content: dict[str, Any] = briefing.content if isinstance(briefing.content, dict) else {}
    radar = briefing.radar
    return {
        "id": briefing.pk,
        # A deleted radar's briefing (never listed to readers) is named as it was then.
        "radar": {
            "id": briefing.radar_id,
            "name": radar.name if radar is not None else briefing.radar_name,
        },
        "period": briefing.cadence,
        "period_start": briefing.period_start.isoformat(),
        "language": briefing.language,
        "status": briefing.status,
        "mode": str(content.get("mode", "")),
        "headline": str(content.get("headline", "")),
        "paper_count": len(briefing.paper_ids),
        "match_count": briefing.match_count,
        "window_start": briefing.window_start.isoformat(),
        "window_end": briefing.window_end.isoformat(),
        "generated_at": briefing.generated_at.isoformat() if briefing.generated_at else None,
    }


def briefing_export(briefing: Briefing, view: BriefingView | None = None) -> dict[str, Any]:
    """A briefing as a plain dict for the JSON API: the summary plus themes, links and picks
    citing papers by `key` (as `export_papers` names them), and the papers themselves."""
    view = view or briefing_view(briefing)

    def keys(papers: list[CitedPaper]) -> list[str]:
        return [p.paper.key for p in papers]

    return {
        **briefing_summary(briefing),
        "themes": [
            {"title": t.title, "synthesis": t.synthesis, "papers": keys(t.papers)}
            for t in view.themes
        ],
        "links": [
            {"fields": x.fields, "insight": x.insight, "papers": keys(x.papers)} for x in view.links
        ],
        "read_first": [{"key": p.paper.paper.key, "why": p.why} for p in view.picks],
        "papers": [
            {
                "number": p.number,
                "key": p.paper.key,
                "title": p.card.title,
                "source": p.card.label,
                "field": p.field,
                **({"tldr": p.line} if p.line else {}),
            }
            for p in view.papers
        ],
    }
