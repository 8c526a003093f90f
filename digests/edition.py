"""One reader's briefing email of one period ("an edition"), assembled from the shared
briefings of every radar they own or follow — never a model call of its own.

An overview comes first (how many papers across which radars, the three to read first),
then one section per radar with new papers (its headline, themes and cross-field links),
then one line naming the radars with nothing new. Papers are numbered in reading order,
1, 2, 3 … across the whole email; a paper that several radars caught is listed once, with
their names, and cited by its number elsewhere. Every text is in the reader's summary
language; "both" puts Chinese and English side by side, item by item. TeX becomes readable
text (`digests.mathtext`). The email, the archive page and the plain-text part all render
this one structure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.urls import reverse

from digests.display import BriefingView, CitedPaper, LinkView, PickView, ThemeView
from digests.mathtext import tex_plain
from digests.models import Briefing, Card
from radar.crosslingual import has_cjk

# Chinese first when both: the side-by-side column order.
HTML_LANG = {"zh": "zh-Hans", "en": "en"}
# Papers listed in full under one theme at most (the rest: "and N more on the site"); the
# email lowers this until its HTML fits (digests.email.EMAIL_HTML_LIMIT).
PAPERS_PER_THEME = 6
READ_FIRST = 3
SHORT_TITLE = 80


@dataclass(slots=True)
class Words:
    """One item's text in each language of the email: [(html lang, text)], Chinese first."""

    parts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The first language's text."""
        return self.parts[0][1] if self.parts else ""

    def text_in(self, lang: str) -> str:
        """The text in the HTML language `lang` if the item has it, else the first one."""
        return next((text for part_lang, text in self.parts if part_lang == lang), self.text)

    @property
    def pair(self) -> bool:
        """Whether two languages are shown side by side."""
        return len(self.parts) > 1

    def __bool__(self) -> bool:
        return any(text for _, text in self.parts)


@dataclass(slots=True)
class Entry:
    """A paper as the email lists it, once: its number, title and a line about it."""

    number: int
    paper_id: int
    title: str
    # The Chinese title (Chinese or both readers), shown under the original one.
    title_zh: str
    label: str
    field: str
    path: str
    # The TL;DR from its summary card (or the briefing's line), in the email's languages.
    line: Words
    # Every radar of the email that caught it (when more than one did).
    radars: list[str] = dataclasses.field(default_factory=list)

    @property
    def short_title(self) -> str:
        """The title cut for a citation."""
        return self.title if len(self.title) <= SHORT_TITLE else self.title[:SHORT_TITLE] + "…"


@dataclass(slots=True)
class ThemeBlock:
    """A theme: its title and synthesis, the papers first listed here and those cited again."""

    title: Words
    synthesis: Words
    papers: list[Entry]
    again: list[Entry]
    more: int = 0
    # A theme made without the model: its name without the count its title ends with
    # (empty for papers that share nothing), and how many papers it has.
    name: Words = field(default_factory=Words)
    size: int = 0


@dataclass(slots=True)
class LinkBlock:
    """A link between two named fields, the insight and the papers it rests on."""

    fields: Words
    insight: Words
    papers: list[Entry]


@dataclass(slots=True)
class Pick:
    """A paper to read first and why."""

    entry: Entry
    why: Words
    radar: str


@dataclass(slots=True)
class RadarSection:
    """One radar's part of the email."""

    # None: a radar deleted before the email recorded its radars (it was never sent).
    radar_id: int | None
    name: str
    owned: bool
    briefing_id: int
    # The briefing's page; "" once the radar is deleted (the page is gone with it).
    path: str
    mode: str
    reason: str
    model: str
    headline: Words
    count: int
    themes: list[ThemeBlock]
    links: list[LinkBlock]
    # Matches of the period beyond those briefed (lower scores).
    more: int


@dataclass(slots=True)
class Edition:
    """Everything one reader's email (and its archive page) shows."""

    language: str
    cadence: str
    period_start: date
    is_test: bool
    sections: list[RadarSection]
    quiet: list[str]
    picks: list[Pick]
    paper_count: int
    # The reader's interface language (Django's code): the subject's language.
    interface: str = ""

    @property
    def top_theme(self) -> str:
        """The email's top theme, for the subject, in the reader's interface language when
        the email has it (a "both" reader's), else in its first language: the first theme
        (or headline) the model wrote; without the model, the largest named theme of the
        whole email, by its name alone (its title's count is of one radar's theme, not the
        email's papers), or "" when no theme has a name."""
        lang = HTML_LANG["zh"] if self.interface.startswith("zh") else HTML_LANG["en"]
        for section in self.sections:
            if section.mode != "llm":
                continue
            if section.themes and section.themes[0].title:
                return section.themes[0].title.text_in(lang)
            if section.headline:
                return section.headline.text_in(lang)
        named = [t for s in self.sections if s.mode != "llm" for t in s.themes if t.name]
        if not named:
            return ""
        return max(named, key=lambda t: t.size).name.text_in(lang)  # the first of equals

    @property
    def llm_section(self) -> RadarSection | None:
        """The first section written by the language model (its note ends the email)."""
        return next((s for s in self.sections if s.mode == "llm"), None)


@dataclass(frozen=True, slots=True)
class RadarInfo:
    """What the email needs of a radar: its name, whether the reader owns it and its
    briefings in the email (one per language); `gone`: deleted since (no page to link)."""

    radar_id: int | None
    name: str
    owned: bool
    briefing_ids: tuple[int, ...]
    gone: bool = False


def _words(texts: Sequence[tuple[str, str]]) -> Words:
    """Each language's text, once: a "both" reader's two texts are often one (an extractive
    summary, made without an LLM, is the abstract's own sentence in either slot); a text
    without Chinese characters is then marked as English."""
    kept: dict[str, str] = {}
    for lang, text in texts:
        plain = tex_plain(text) if text else ""
        if not plain:
            continue
        if plain in kept:
            if lang == "en" and not has_cjk(plain):
                kept[plain] = lang
            continue
        kept[plain] = lang
    return Words([(HTML_LANG[lang], plain) for plain, lang in kept.items()])


def _pair_by_papers[T: (ThemeView, LinkView)](
    first: Sequence[T], second: Sequence[T]
) -> list[tuple[T | None, T | None]]:
    """Items of two languages' briefings paired by the papers they cite (greedy overlap),
    in the first one's order; the other's unpaired items follow."""
    left = list(second)
    pairs: list[tuple[T | None, T | None]] = []
    for item in first:
        ids = {p.paper.pk for p in item.papers}
        best = max(left, key=lambda o: len(ids & {p.paper.pk for p in o.papers}), default=None)
        if best is not None and ids & {p.paper.pk for p in best.papers}:
            left.remove(best)
            pairs.append((item, best))
        else:
            pairs.append((item, None))
    pairs.extend((None, item) for item in left)
    return pairs


class _Numbering:
    """Numbers papers in reading order and lists each in full once."""

    def __init__(
        self, languages: Sequence[str], cards: dict[int, Card], caught: dict[int, list[str]]
    ):
        self.languages = languages
        self.cards = cards
        self.caught = caught
        self.entries: dict[int, Entry] = {}

    def entry(self, paper: CitedPaper, lines: dict[str, str]) -> tuple[Entry, bool]:
        """The paper's entry, and whether this is its first listing."""
        found = self.entries.get(paper.paper.pk)
        if found is not None:
            return found, False
        card = self.cards.get(paper.paper.pk)
        readable = card is not None and card.readable
        texts = []
        for lang in self.languages:
            tldr = card.language_part(lang)["tldr"] if readable and card is not None else ""
            texts.append((lang, tldr or lines.get(lang, "")))
        title_zh = card.title_zh if readable and card is not None and "zh" in self.languages else ""
        radars = self.caught.get(paper.paper.pk, [])
        made = Entry(
            number=len(self.entries) + 1,
            paper_id=paper.paper.pk,
            title=tex_plain(paper.card.title),
            title_zh=tex_plain(title_zh),
            label=paper.card.label,
            field=paper.field,
            path=paper.path,
            line=_words(texts),
            radars=radars if len(radars) > 1 else [],
        )
        self.entries[paper.paper.pk] = made
        return made, True


def _lines(view: BriefingView | None, paper: CitedPaper) -> str:
    if view is None:
        return ""
    found = next((p for p in view.papers if p.paper.pk == paper.paper.pk), None)
    return found.line if found is not None else ""


def edition_build(
    *,
    language: str,
    cadence: str,
    period_start: date,
    is_test: bool,
    radars: Sequence[RadarInfo],
    briefings: Iterable[Briefing],
    views: dict[int, BriefingView],
    cards: dict[int, Card],
    per_theme: int = PAPERS_PER_THEME,
    interface: str = "",
) -> Edition:
    """The edition of these briefings (of `radars`, in that order) for a reader of
    `language` (en, zh or both) whose interface is in `interface` (Django's language code);
    `views` by briefing id, `cards` by paper id."""
    languages: tuple[str, ...] = ("zh", "en") if language == "both" else (language,)
    by_id = {briefing.pk: briefing for briefing in briefings}
    # Each radar's briefings by language, as `radars` list them (not by `Briefing.radar`,
    # which a deleted radar's briefings no longer have).
    by_radar = [
        {by_id[b].language: by_id[b] for b in info.briefing_ids if b in by_id} for info in radars
    ]
    caught: dict[int, list[str]] = {}
    for info, found in zip(radars, by_radar, strict=True):
        for lang, briefing in found.items():
            if lang == languages[0] and briefing.readable:
                for pid in briefing.paper_ids:
                    caught.setdefault(pid, []).append(info.name)
    numbering = _Numbering(languages, cards, caught)
    sections: list[RadarSection] = []
    quiet: list[str] = []
    picks_by_radar: list[tuple[RadarInfo, list[tuple[PickView, PickView | None]]]] = []
    mains: list[tuple[RadarInfo, BriefingView, BriefingView | None]] = []
    for info, found in zip(radars, by_radar, strict=True):
        main_briefing = found.get(languages[0])
        if main_briefing is None or not main_briefing.readable or main_briefing.pk not in views:
            quiet.append(info.name)
            continue
        main = views[main_briefing.pk]
        other_briefing = found.get(languages[1]) if len(languages) > 1 else None
        other = views.get(other_briefing.pk) if other_briefing is not None else None
        mains.append((info, main, other))
        other_picks = {p.paper.paper.pk: p for p in other.picks} if other else {}
        picks_by_radar.append((info, [(p, other_picks.get(p.paper.paper.pk)) for p in main.picks]))
    # The three to read first, taken in turn from each radar's picks, numbered 1, 2, 3.
    picks: list[Pick] = []
    for rank in range(READ_FIRST):
        for info, radar_picks in picks_by_radar:
            if len(picks) >= READ_FIRST or rank >= len(radar_picks):
                continue
            pick, other_pick = radar_picks[rank]
            view = next(m for i, m, _ in mains if i is info)
            entry, first = numbering.entry(pick.paper, {languages[0]: _lines(view, pick.paper)})
            if not first:
                continue
            whys = [(languages[0], pick.why)]
            if other_pick is not None:
                whys.append((languages[1], other_pick.why))
            picks.append(Pick(entry=entry, why=_words(whys), radar=info.name))
    for info, main, other in mains:
        sections.append(_section(info, main, other, languages, numbering, per_theme))
    return Edition(
        language=language,
        cadence=cadence,
        period_start=period_start,
        is_test=is_test,
        sections=sections,
        quiet=quiet,
        picks=picks,
        paper_count=len({pid for m in mains for pid in m[1].briefing.paper_ids}),
        interface=interface,
    )


def _section(
    info: RadarInfo,
    main: BriefingView,
    other: BriefingView | None,
    languages: Sequence[str],
    numbering: _Numbering,
    per_theme: int,
) -> RadarSection:
    second = languages[1] if len(languages) > 1 else ""

    def lines(paper: CitedPaper) -> dict[str, str]:
        found = {languages[0]: _lines(main, paper)}
        if second:
            found[second] = _lines(other, paper)
        return found

    themes = []
    for theme, other_theme in _pair_by_papers(main.themes, other.themes if other else []):
        base = theme or other_theme
        assert base is not None
        cited = list(base.papers)
        if theme is not None and other_theme is not None:
            cited += [
                p for p in other_theme.papers if p.paper.pk not in {c.paper.pk for c in cited}
            ]
        cited.sort(key=lambda p: p.number)
        fresh: list[Entry] = []
        again: list[Entry] = []
        more = 0
        for paper in cited:
            known = paper.paper.pk in numbering.entries
            if not known and len(fresh) >= per_theme:
                more += 1
                continue
            entry, first = numbering.entry(paper, lines(paper))
            (fresh if first else again).append(entry)
        texts_title = [(languages[0], theme.title if theme else "")]
        texts_synthesis = [(languages[0], theme.synthesis if theme else "")]
        texts_name = [(languages[0], theme.name if theme else "")]
        if second:
            texts_title.append((second, other_theme.title if other_theme else ""))
            texts_synthesis.append((second, other_theme.synthesis if other_theme else ""))
            texts_name.append((second, other_theme.name if other_theme else ""))
        themes.append(
            ThemeBlock(
                title=_words(texts_title),
                synthesis=_words(texts_synthesis),
                papers=fresh,
                again=again,
                more=more,
                name=_words(texts_name),
                size=len(cited),
            )
        )
    links = []
    for link, other_link in _pair_by_papers(main.links, other.links if other else []):
        cites = link or other_link
        assert cites is not None
        fields = [(languages[0], " ↔ ".join(link.fields) if link else "")]
        insight = [(languages[0], link.insight if link else "")]
        if second:
            fields.append((second, " ↔ ".join(other_link.fields) if other_link else ""))
            insight.append((second, other_link.insight if other_link else ""))
        papers = [
            numbering.entry(p, lines(p))[0] for p in sorted(cites.papers, key=lambda p: p.number)
        ]
        links.append(LinkBlock(fields=_words(fields), insight=_words(insight), papers=papers))
    headline = [(languages[0], main.headline)]
    if second and other is not None:
        headline.append((second, other.headline))
    briefing = main.briefing
    return RadarSection(
        radar_id=info.radar_id,
        name=info.name,
        owned=info.owned,
        briefing_id=briefing.pk,
        path="" if info.gone else reverse("digests:briefing", args=[briefing.pk]),
        mode=main.mode,
        reason=main.reason,
        model=briefing.model,
        headline=_words(headline),
        count=briefing.match_count,
        themes=themes,
        links=links,
        more=main.more,
    )
