"""Briefings: one per radar, period and language, shared by every subscriber who wants it.

A briefing covers the matches *created* in its window: each briefing of a radar, cadence and
language starts where the previous one was cut (DESIGN §5, "what arrived since the last
one"), and is cut when the first subscriber's delivery time comes, a few minutes in the past
so that a matching batch still being committed is never split. A late or backfilled paper
is therefore briefed exactly once.

With an LLM configured, the window's papers (best first, with their cards' TL;DR and
keywords, their source and field) go to the model in one call; above GROUP_SIZE papers they
are briefed in groups first, then the group briefings are combined (so any volume fits the
context). The answer is checked by code: the schema (pydantic), lengths, the language, no
URLs or markup, and every cited paper among those given. A bad answer gets one repair call;
a second bad one makes the briefing `failed` with the reason, and its subscribers get the
papers listed without any model text — never a briefing citing papers it was not given.

Without an LLM, an honest briefing is built from the data alone (papers grouped by shared
keywords, else by category or journal, each theme named as researchers name it in the
briefing's language, their TL;DRs or abstract openings listed) and labelled as such.
A window without matches gives an `empty` briefing: no page and no email.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext, pgettext
from pydantic import BaseModel, ConfigDict

from digests import llm
from digests.cards import is_chinese, is_english
from digests.display import paper_field
from digests.models import Briefing, Card
from digests.selectors import cards_for_papers
from feeds.labels import display_text, source_label
from feeds.models import PaperSighting
from feeds.names import category_name, subject_name
from radar.models import Match, Radar

logger = logging.getLogger(__name__)

PROMPT_VERSION = "briefing-v1"
NO_LLM_MODEL = "no-llm"
NO_LLM_VERSION = "grouped-v2"

# Papers per LLM call; more than this are briefed in groups, then combined.
GROUP_SIZE = 40
# Papers given to the model at all, best first (five groups); the briefing says how many
# more matched.
MAX_PAPERS = 200
TLDR_CHARS = 400
TITLE_CHARS = 300
INDEX_TITLE_CHARS = 140
MAX_TOKENS = 3000
REPAIR_ECHO_CHARS = 6000

THEMES_MIN, THEMES_MAX = 3, 7
# Themes a briefing made without a model names in its overview (its headline).
OVERVIEW_THEMES = 3
LINKS_MAX = 4
PICKS_MAX = 5
# Characters allowed per field, by language (the prompt asks for well under these).
CAPS = {
    "en": {"headline": 300, "title": 120, "synthesis": 1000, "insight": 700, "why": 300, "field": 60},
    "zh": {"headline": 150, "title": 60, "synthesis": 500, "insight": 350, "why": 150, "field": 40},
}  # fmt: skip
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese"}
# Django's language code to render the non-LLM texts of a briefing in.
UI_LANGUAGE = {"en": "en", "zh": "zh-hans"}

# Matches younger than this stay for the next briefing: a matching batch still committing
# (its rows stamped before they became visible) is never split or lost.
CUT_LAG = timedelta(minutes=5)
PERIOD: dict[str, timedelta] = {
    Briefing.Cadence.DAY: timedelta(days=1),
    Briefing.Cadence.WEEK: timedelta(days=7),
}
# The first briefing of a chain, or one after a long pause, looks back at most this far.
LOOKBACK: dict[str, timedelta] = {
    Briefing.Cadence.DAY: timedelta(days=3),
    Briefing.Cadence.WEEK: timedelta(days=14),
}
# The claim of the worker building a briefing: all its calls, each under LLM_TIMEOUT.
CLAIM = timedelta(minutes=15)
# A briefing whose endpoint timed out or was busy is asked again after 10, then 20 minutes;
# the third failure lists the papers without analysis rather than keep subscribers waiting.
MAX_ATTEMPTS = 3
RETRY_BASE = timedelta(minutes=10)

READY = (Briefing.Status.DONE, Briefing.Status.EXTRACTIVE, Briefing.Status.FAILED)


# --- Input -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One paper as a briefing sees it (`ref` is how the model cites it: P1, P2, …)."""

    ref: str
    paper_id: int
    score: float
    title: str
    title_zh: str
    tldr: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    source: str
    field: str
    # A paper without categories (a journal's): its source as the briefing's readers see it
    # ("Nature"), which a briefing made without a model groups it by.
    journal: str = ""


def _opening(abstract: str, limit: int = 240) -> str:
    """The first sentence or so of an abstract, cut at a word."""
    text = re.sub(r"\s+", " ", display_text(abstract)).strip()
    match = re.match(r"(.+?[.!?。！？])(\s|$)", text)
    if match and len(match.group(1)) <= limit:
        return match.group(1)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def _tldr(card: Card | None, abstract: str, language: str) -> str:
    """The card's TL;DR in `language` (else the other one), else the abstract's opening."""
    if card is not None and card.readable:
        other = "zh" if language == "en" else "en"
        for lang in (language, other):
            text = card.language_part(lang)["tldr"]
            if text:
                return text[:TLDR_CHARS]
    return _opening(abstract)


def briefing_items(briefing: Briefing) -> tuple[list[Item], int]:
    """The window's matched papers, best first (at most MAX_PAPERS), and how many matched."""
    if briefing.radar_id is None:  # the radar was deleted (with its matches) meanwhile
        return [], 0
    matches = Match.objects.filter(
        radar_id=briefing.radar_id,
        created_at__gte=briefing.window_start,
        created_at__lt=briefing.window_end,
    )
    total = matches.count()
    if not total:
        return [], 0
    sightings = PaperSighting.objects.select_related("source").order_by("first_seen", "id")
    top = list(
        matches.select_related("paper")
        .defer("paper__search_vector", "paper__abstract_html")
        .prefetch_related(Prefetch("paper__sightings", queryset=sightings))
        .order_by("-score", "paper_id")[:MAX_PAPERS]
    )
    cards = cards_for_papers(m.paper_id for m in top)
    with translation.override(UI_LANGUAGE[briefing.language]):
        journals = {m.paper_id: source_label(m.paper) for m in top if not m.paper.categories}
    items = []
    for number, match in enumerate(top, start=1):
        paper = match.paper
        card = cards.get(paper.pk)
        readable = card is not None and card.readable
        label = source_label(paper)
        items.append(
            Item(
                ref=f"P{number}",
                paper_id=paper.pk,
                score=match.score,
                title=display_text(paper.title)[:TITLE_CHARS],
                title_zh=(card.title_zh if readable and card is not None else "")[:TITLE_CHARS],
                tldr=_tldr(card, paper.abstract, briefing.language),
                keywords=tuple(card.keywords) if readable and card is not None else (),
                categories=tuple(paper.categories),
                source=label,
                field=paper_field(paper),
                journal=journals.get(paper.pk, ""),
            )
        )
    return items, total


# --- The prompt ------------------------------------------------------------------------------


_CITES: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


BRIEFING_SCHEMA: dict[str, Any] = _object(
    {
        "headline": {"type": "string"},
        "themes": {
            "type": "array",
            "items": _object(
                {"title": {"type": "string"}, "synthesis": {"type": "string"}, "papers": _CITES}
            ),
        },
        "links": {
            "type": "array",
            "items": _object(
                {
                    "fields": {"type": "array", "items": {"type": "string"}},
                    "insight": {"type": "string"},
                    "papers": _CITES,
                }
            ),
        },
        "read_first": {
            "type": "array",
            "items": _object({"paper": {"type": "string"}, "why": {"type": "string"}}),
        },
    }
)


def _paper_data(items: Sequence[Item], language: str) -> list[dict[str, Any]]:
    """What the model is told about each paper: its text, source and field, nothing else."""
    out = []
    for item in items:
        row: dict[str, Any] = {"ref": item.ref, "title": item.title}
        if language == "zh" and item.title_zh:
            row["title_zh"] = item.title_zh
        row["tldr"] = item.tldr
        if item.keywords:
            row["keywords"] = list(item.keywords[:8])
        row["source"] = item.source
        row["field"] = item.field
        out.append(row)
    return out


def briefing_messages(
    part: str, data: Any, language: str, **fill: int | str
) -> list[dict[str, str]]:
    """The chat messages for one stage (`part`: user, group or merge) of a briefing."""
    parts = llm.prompt_parts(PROMPT_VERSION)
    name = LANGUAGE_NAMES[language]
    schema_note = ""
    if settings.LLM_JSON_MODE != "json_schema":
        schema_note = "\nThe JSON object must follow this JSON Schema:\n" + json.dumps(
            BRIEFING_SCHEMA
        )
    # Escaped angle brackets: the papers' text can neither close the block nor open a tag.
    blob = json.dumps(data, ensure_ascii=False, indent=1)
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e")
    user = parts[part].replace("{{language}}", name)
    for key, value in fill.items():
        user = user.replace("{{" + key + "}}", str(value))
    return [
        {
            "role": "system",
            "content": parts["system"]
            .replace("{{language}}", name)
            .replace("{{schema}}", schema_note),
        },
        # The data goes in last, so nothing in it is ever taken for a placeholder.
        {"role": "user", "content": user.replace("{{data}}", blob)},
    ]


# --- Validation ------------------------------------------------------------------------------


class _Theme(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str
    synthesis: str
    papers: list[str]


class _Link(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fields: list[str]
    insight: str
    papers: list[str]


class _Pick(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    paper: str
    why: str


class _BriefingOut(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    headline: str
    themes: list[_Theme]
    links: list[_Link]
    read_first: list[_Pick]


# Refs the model put in its prose anyway, "(P3)" or "[P3, P7]": taken out of the text (the
# citations are the "papers" lists). A bare "P450" is left alone: it may be a protein.
_REF_GROUP = re.compile(r"\s*[\[(（【]\s*P\d{1,4}(?:\s*[,，;；、]\s*P\d{1,4})*\s*[\])）】]")
_REF = re.compile(r"P\d{1,4}")
_FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:https?|ftp|file|javascript|data):", re.I), "a URL"),
    (re.compile(r"\bwww\.\S", re.I), "a URL"),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), "an image"),
    (re.compile(r"\[[^\]]+\]\([^)]*\)"), "a Markdown link"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>"), "HTML"),
    (re.compile(r"<!--|-->"), "HTML"),
    (re.compile(r"<\|[^|<>]{0,40}\|>|\[/?(?:SYSTEM|INST|USER|ASSISTANT)\]", re.I), "a role tag"),
    (re.compile(r"[A-Za-z0-9+/]{48,}={0,2}"), "encoded data"),
]
# Harmless decoration, removed without complaint.
_DECORATION = [re.compile(r"\*\*|__|`+"), re.compile(r"^\s*#{1,6}\s+", re.M)]


class _Checker:
    """Collects the problems of one answer while turning it into stored content."""

    def __init__(self, items: Sequence[Item], language: str) -> None:
        self.by_ref = {item.ref: item for item in items}
        self.language = language
        self.caps = CAPS[language]
        self.problems: list[str] = []
        self.flags: set[str] = set()

    def refs(self, refs: Sequence[str], where: str) -> list[int]:
        """Paper ids of `refs` (deduplicated, in order); unknown refs are problems."""
        ids: list[int] = []
        for ref in refs:
            item = self.by_ref.get(ref.strip())
            if item is None:
                self.problems.append(f"{where} cites {ref[:20]!r}, which is not among the papers")
            elif item.paper_id not in ids:
                ids.append(item.paper_id)
        return ids

    def text(self, value: str, where: str, cap: str, *, prose: bool = True) -> str:
        """`value` checked: no URL or markup, no unknown ref, length, language."""
        text = display_text(value)
        for pattern, what in _FORBIDDEN:
            if pattern.search(text):
                self.problems.append(f"{where} contains {what}")
                return ""
        for group in _REF_GROUP.findall(text):
            for ref in _REF.findall(group):
                if ref not in self.by_ref:
                    self.problems.append(f"{where} cites {ref}, which is not among the papers")
        text = _REF_GROUP.sub("", text)
        for pattern in _DECORATION:
            text, count = pattern.subn("", text)
            if count:
                self.flags.add("markdown")
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", text)
        limit = self.caps[cap]
        if not text:
            self.problems.append(f"{where} is empty")
        elif len(text) > limit:
            self.problems.append(f"{where} is longer than {limit} characters")
        elif prose and self.language == "zh" and not is_chinese(text, minimum=2):
            self.problems.append(f"{where} is not in Chinese")
        elif prose and self.language == "en" and not is_english(text):
            self.problems.append(f"{where} is not in English")
        return text


def briefing_parse(
    completion: llm.Completion, items: Sequence[Item], language: str
) -> dict[str, Any]:
    """The validated content of a completion; raises LLMBadOutput naming the first problems."""
    parsed = llm.answer_parse(completion, _BriefingOut, "briefing")
    check = _Checker(items, language)
    headline = check.text(parsed.headline, "headline", "headline")
    wanted = min(THEMES_MIN, len(items))
    if not wanted <= len(parsed.themes) <= THEMES_MAX:
        check.problems.append(
            f"there are {len(parsed.themes)} themes; give {wanted} to {THEMES_MAX}"
        )
    themes = []
    for n, theme in enumerate(parsed.themes[:THEMES_MAX], start=1):
        papers = check.refs(theme.papers, f"theme {n}")
        if not theme.papers:
            check.problems.append(f"theme {n} cites no paper")
        themes.append(
            {
                "title": check.text(theme.title, f"theme {n} title", "title"),
                "synthesis": check.text(theme.synthesis, f"theme {n} synthesis", "synthesis"),
                "papers": papers,
            }
        )
    links = []
    for n, link in enumerate(parsed.links[:LINKS_MAX], start=1):
        papers = check.refs(link.papers, f"link {n}")
        insight = check.text(link.insight, f"link {n} insight", "insight")
        fields = [check.text(f, f"link {n} field", "field", prose=False) for f in link.fields]
        cited = [check.by_ref[r.strip()] for r in link.papers if r.strip() in check.by_ref]
        # Code, not the model, decides what counts as a link between fields: two named,
        # different fields, and cited papers from at least two fields or sources.
        spans = len({i.field for i in cited}) > 1 or len({i.source for i in cited}) > 1
        if len(fields) != 2 or len({f.casefold() for f in fields}) != 2 or not spans:
            check.flags.add("link_dropped")
            continue
        links.append({"fields": fields, "insight": insight, "papers": papers})
    if len(parsed.links) > LINKS_MAX:
        check.flags.add("links_cut")
    picks: list[dict[str, Any]] = []
    if not parsed.read_first:
        check.problems.append("read_first is empty")
    for n, pick in enumerate(parsed.read_first[:PICKS_MAX], start=1):
        ids = check.refs([pick.paper], f"read_first {n}")
        why = check.text(pick.why, f"read_first {n} why", "why")
        if ids and all(p["paper"] != ids[0] for p in picks):
            picks.append({"paper": ids[0], "why": why})
    if check.problems:
        raise llm.LLMBadOutput("; ".join(check.problems[:6]))
    return {
        "mode": "llm",
        "headline": headline,
        "themes": themes,
        "links": links,
        "read_first": picks,
        "flags": sorted(check.flags),
    }


# --- With the LLM ----------------------------------------------------------------------------


def _ask(
    messages: list[dict[str, str]],
    items: Sequence[Item],
    language: str,
    usage: llm.Usage,
    subject: str,
) -> dict[str, Any]:
    """One stage's briefing from the LLM: one call, and one repair call if needed."""
    return llm.ask_validated(
        messages,
        parse=lambda completion: briefing_parse(completion, items, language),
        prompt_version=PROMPT_VERSION,
        echo_chars=REPAIR_ECHO_CHARS,
        usage=usage,
        schema=BRIEFING_SCHEMA,
        schema_name="briefing",
        max_tokens=MAX_TOKENS,
        purpose="briefing",
        subject=subject,
    )


def _groups(items: Sequence[Item]) -> list[list[Item]]:
    """Papers in groups of at most GROUP_SIZE, of even sizes, papers of one field together."""
    ordered = sorted(items, key=lambda i: (i.field, int(i.ref[1:])))
    count = -(-len(ordered) // GROUP_SIZE)
    size, extra = divmod(len(ordered), count)
    groups, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        groups.append(ordered[start:end])
        start = end
    return groups


def _as_refs(content: dict[str, Any], ref_of: dict[int, str]) -> dict[str, Any]:
    """A group's briefing with paper ids turned back into refs, for the combining call."""
    return {
        "themes": [
            {"title": t["title"], "synthesis": t["synthesis"], "papers": [ref_of[p] for p in t["papers"]]}
            for t in content["themes"]
        ],
        "links": [
            {"fields": x["fields"], "insight": x["insight"], "papers": [ref_of[p] for p in x["papers"]]}
            for x in content["links"]
        ],
        "read_first": [{"paper": ref_of[p["paper"]], "why": p["why"]} for p in content["read_first"]],
    }  # fmt: skip


def briefing_write(
    items: Sequence[Item], language: str, usage: llm.Usage, subject: str
) -> dict[str, Any]:
    """The briefing written by the LLM: one call, or groups then a combining call."""
    if len(items) <= GROUP_SIZE:
        messages = briefing_messages("user", {"papers": _paper_data(items, language)}, language)
        return _ask(messages, items, language, usage, subject)
    groups = _groups(items)
    ref_of = {item.paper_id: item.ref for item in items}
    partials = []
    for n, group in enumerate(groups, start=1):
        messages = briefing_messages(
            "group",
            {"papers": _paper_data(group, language)},
            language,
            group=n,
            groups=len(groups),
        )
        partials.append(_as_refs(_ask(messages, group, language, usage, subject), ref_of))
    index = [
        {"ref": i.ref, "title": i.title[:INDEX_TITLE_CHARS], "source": i.source, "field": i.field}
        for i in items
    ]
    messages = briefing_messages("merge", {"groups": partials, "papers": index}, language)
    content = _ask(messages, items, language, usage, subject)
    content["stages"] = len(groups) + 1
    return content


# --- Without the LLM -------------------------------------------------------------------------


# A stored category that is an arXiv code ("cs.CL"), not a bioRxiv/medRxiv subject.
_ARXIV_CODE = re.compile(r"^[a-z-]+\.[A-Za-z-]+$")
# Chinese typography for the names put together here: a space between Chinese and Latin
# letters or digits ("涉及 Nature"), none after a full-width bracket ("（cs.CL）· 3 篇").
_CJK_THEN_LATIN = re.compile(
    r"(?<=[\u3400-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u3400-\u9fff])"
)
_WIDE_CLOSE_SPACE = re.compile(r"(?<=[）】」』]) (?=·)")


def _typeset(text: str, language: str) -> str:
    """`text` with Chinese spacing when the briefing is in Chinese."""
    if language != "zh":
        return text
    return _WIDE_CLOSE_SPACE.sub("", _CJK_THEN_LATIN.sub(" ", text))


def _category_title(code: str) -> str:
    """A stored category as a theme is titled, in the current language: "Computation and
    Language (cs.CL)", a bioRxiv/medRxiv subject by its name ("Bioinformatics")."""
    name = category_name(code)
    if name:
        return pgettext("briefing theme", "%(name)s (%(code)s)") % {"name": name, "code": code}
    if _ARXIV_CODE.match(code):
        return code  # a category arXiv added after feeds.names was written: no name yet
    return subject_name(code)


def _labels(item: Item) -> list[tuple[int, str, str]]:
    """What a paper can be grouped by, as (rank, key, title in the current language): its
    card's keywords (rank 0: they say more than a category), then its categories, else the
    journal that published it (rank 1)."""
    seen: dict[str, tuple[int, str, str]] = {}
    named = [(0, keyword) for keyword in item.keywords]
    named += [(1, _category_title(category)) for category in item.categories]
    if not item.categories and item.journal:
        named.append((1, item.journal))
    for rank, title in named:
        seen.setdefault(title.casefold(), (rank, title.casefold(), title))
    return list(seen.values())


def _theme_groups(items: Sequence[Item]) -> list[tuple[str, list[Item]]]:
    """Papers grouped by the label most of the remaining ones share, as (title, papers); a
    paper sharing none has a theme of its own while there is room, else they are put
    together untitled ("")."""
    labels = {item.ref: _labels(item) for item in items}
    left = list(items)
    groups: list[tuple[str, list[Item]]] = []
    while len(left) > 1 and len(groups) < THEMES_MAX - 1:
        counts: Counter[tuple[int, str]] = Counter()
        shown: dict[tuple[int, str], str] = {}
        first: dict[tuple[int, str], int] = {}
        for position, item in enumerate(left):
            for kind, key, text in labels[item.ref]:
                counts[(kind, key)] += 1
                shown.setdefault((kind, key), text)
                first.setdefault((kind, key), position)
        shared = [k for k, c in counts.items() if c > 1]
        if not shared:
            break
        best = min(shared, key=lambda k: (k[0], -counts[k], first[k]))
        members = [i for i in left if any((k, key) == best for k, key, _ in labels[i.ref])]
        groups.append((shown[best], members))
        left = [i for i in left if i not in members]
    if len(groups) + len(left) <= THEMES_MAX:
        # A lone paper is titled by its category or journal rather than by a keyword of its
        # own card (a keyword names a theme only when papers share it).
        lone = [(sorted(labels[i.ref], key=lambda label: -label[0]), i) for i in left]
        groups += [(found[0][2], [i]) for found, i in lone if found]
        left = [i for found, i in lone if not found]
    if left:
        common = [
            text
            for _rank, key, text in sorted(labels[left[0].ref], key=lambda label: -label[0])
            if all(any(key == k for _, k, _ in labels[i.ref]) for i in left[1:])
        ]
        groups.append((common[0] if common else "", left))
    return groups


def _theme_title(title: str, count: int, *, alone: bool) -> str:
    """A theme's heading with its number of papers: "Nature · 2 papers"; papers that share
    nothing are "Other papers · 5 papers", or "5 papers" when they are all (`alone`)."""
    if not title and alone:
        return ngettext("%(count)d paper", "%(count)d papers", count) % {"count": count}
    return ngettext("%(theme)s · %(count)d paper", "%(theme)s · %(count)d papers", count) % {
        "theme": title or gettext("Other papers"),
        "count": count,
    }


def _in_themes(names: Sequence[str], *, others: bool) -> str:
    """The overview's themes: ", in A, B and C", or ", in A, B, C and others" when more
    themes follow."""
    separator = pgettext("list separator", ", ")
    if others:
        return pgettext("briefing overview", ", in %(themes)s and others") % {
            "themes": separator.join(names)
        }
    if len(names) == 1:
        return pgettext("briefing overview", ", in %(theme)s") % {"theme": names[0]}
    return pgettext("briefing overview", ", in %(themes)s and %(last)s") % {
        "themes": separator.join(names[:-1]),
        "last": names[-1],
    }


def briefing_extract(items: Sequence[Item], language: str, *, mode: str) -> dict[str, Any]:
    """An honest briefing made without a model (mode `no_llm`, or `fallback` after the model
    failed): papers grouped by shared keywords, else by their category or journal, each group
    titled by its name and size, each paper with its TL;DR."""
    with translation.override(UI_LANGUAGE[language]):
        groups = _theme_groups(items)
        # The overview names the largest themes (a stable sort: the first of equals first).
        named = [title for title, members in sorted(groups, key=lambda g: -len(g[1])) if title]
        headline = ngettext("%(count)d new paper", "%(count)d new papers", len(items)) % {
            "count": len(items)
        }
        if named:
            shown = named[:OVERVIEW_THEMES]
            headline += _in_themes(shown, others=len(shown) < len(groups))
        themes = [
            {
                "title": _typeset(
                    _theme_title(title, len(members), alone=len(groups) == 1), language
                ),
                "synthesis": "",
                "papers": [i.paper_id for i in members],
                # The theme's name without its count ("" for papers sharing nothing): what
                # an email's subject names (digests.edition.Edition.top_theme).
                "name": _typeset(title, language),
            }
            for title, members in groups
        ]
    return {
        "mode": mode,
        "headline": _typeset(headline, language),
        "themes": themes,
        "links": [],
        "read_first": [{"paper": i.paper_id, "why": ""} for i in items[:3]],
        "lines": {str(i.paper_id): i.tldr for i in items},
        "flags": [],
    }


# --- Opening, building, storing --------------------------------------------------------------


def briefing_open(
    *, radar_id: int, cadence: str, period_start: date, language: str, now: datetime
) -> Briefing:
    """The briefing of this radar, period and language; created if new, its window cut at
    `now` (less CUT_LAG) and starting where the chain's previous one ended."""
    key = {
        "radar_id": radar_id,
        "cadence": cadence,
        "period_start": period_start,
        "language": language,
        "is_test": False,
    }
    found = Briefing.objects.filter(**key).first()
    if found is not None:
        return found
    with transaction.atomic():
        # One cut at a time per radar: two new briefings of a chain never overlap.
        name = Radar.objects.select_for_update().filter(pk=radar_id).values_list("name").first()
        if name is None:
            raise Radar.DoesNotExist(f"radar {radar_id} was deleted")
        found = Briefing.objects.filter(**key).first()
        if found is not None:
            return found
        cut = now - CUT_LAG
        last = Briefing.objects.filter(
            radar_id=radar_id, cadence=cadence, language=language, is_test=False
        ).aggregate(end=Max("window_end"))["end"]
        earliest = cut - LOOKBACK[cadence]
        start = max(min(last, cut), earliest) if last else cut - PERIOD[cadence]
        return Briefing.objects.create(
            **key, radar_name=name[0], window_start=start, window_end=cut, created_at=now,
            updated_at=now,
        )  # fmt: skip


def briefing_build(briefing: Briefing, *, now: datetime | None = None) -> str:
    """Build a pending briefing if it is due and no one else is: returns what happened
    (done, extractive, failed, empty, pending, skipped). `briefing` is refreshed."""
    now = now or timezone.now()
    due = Briefing.objects.filter(id=briefing.pk, status=Briefing.Status.PENDING)
    if not llm.job_claim(due, now=now, hold=CLAIM):
        briefing.refresh_from_db()
        return "skipped"
    briefing.refresh_from_db()
    items, total = briefing_items(briefing)
    if not items:
        llm.job_store(Briefing, briefing.pk, status=Briefing.Status.EMPTY, content={},
                      paper_ids=[], match_count=0, generated_at=now)  # fmt: skip
        briefing.refresh_from_db()
        return "empty"
    base: dict[str, Any] = {"paper_ids": [i.paper_id for i in items], "match_count": total}
    if not llm.llm_configured():
        content = briefing_extract(items, briefing.language, mode="no_llm")
        llm.job_store(Briefing, briefing.pk, status=Briefing.Status.EXTRACTIVE, content=content,
                      model=NO_LLM_MODEL, prompt_version=NO_LLM_VERSION, last_error="",
                      generated_at=now, **base)  # fmt: skip
        briefing.refresh_from_db()
        return "extractive"
    usage = llm.Usage()
    subject = f"briefing:{briefing.pk}"
    try:
        content = briefing_write(items, briefing.language, usage, subject)
    except llm.LLMError as exc:
        tokens = _tokens(briefing, usage)
        attempts = briefing.attempts + 1
        reason = f"{exc.kind}: {exc}"[:2000]
        logger.info("briefing %s: %s", briefing.pk, reason)
        if exc.transient and not isinstance(exc, llm.BudgetExhausted) and attempts < MAX_ATTEMPTS:
            llm.job_store(Briefing, briefing.pk, attempts=attempts, last_error=reason,
                          next_attempt_at=now + llm.retry_delay(attempts, base=RETRY_BASE),
                          **tokens)  # fmt: skip
            briefing.refresh_from_db()
            return "pending"
        fallback = briefing_extract(items, briefing.language, mode="fallback")
        # What readers are told: the analysis is pending (budget) or could not be made.
        fallback["reason"] = exc.kind
        llm.job_store(Briefing, briefing.pk, status=Briefing.Status.FAILED, content=fallback,
                      attempts=attempts, last_error=reason, next_attempt_at=None,
                      model=settings.LLM_MODEL, prompt_version=PROMPT_VERSION, generated_at=now,
                      **base, **tokens)  # fmt: skip
        briefing.refresh_from_db()
        return "failed"
    llm.job_store(Briefing, briefing.pk, status=Briefing.Status.DONE, content=content,
                  attempts=briefing.attempts + 1, last_error="", next_attempt_at=None,
                  model=settings.LLM_MODEL, prompt_version=PROMPT_VERSION, generated_at=now,
                  **base, **_tokens(briefing, usage))  # fmt: skip
    briefing.refresh_from_db()
    return "done"


def _tokens(briefing: Briefing, usage: llm.Usage) -> dict[str, int]:
    return {
        "llm_calls": briefing.llm_calls + usage.calls,
        "prompt_tokens": briefing.prompt_tokens + usage.prompt_tokens,
        "completion_tokens": briefing.completion_tokens + usage.completion_tokens,
    }


def briefing_ensure(
    *, radar_id: int, cadence: str, period_start: date, language: str, now: datetime
) -> Briefing:
    """The briefing of this radar, period and language, built now if it is due (it may
    still be pending: another worker holds it, or the LLM is to be asked again later)."""
    briefing = briefing_open(
        radar_id=radar_id, cadence=cadence, period_start=period_start, language=language, now=now
    )
    if briefing.status == Briefing.Status.PENDING:
        briefing_build(briefing, now=now)
    return briefing


# --- For a test email -------------------------------------------------------------------------

# A test briefing covers the matches of this long before the request, up to the request.
TEST_WINDOW = timedelta(days=1)


def has_matches_for_test(radar_ids: Sequence[int], now: datetime) -> bool:
    """Whether a test briefing of these radars made `now` would cover any match."""
    return Match.objects.filter(
        radar_id__in=list(radar_ids), created_at__gte=now - TEST_WINDOW, created_at__lt=now
    ).exists()


def briefing_test_ensure(
    *, radar_id: int, period_start: date, language: str, now: datetime
) -> Briefing | None:
    """A briefing of the radar's matches of the last day up to `now`, for a test email whose
    period's shared briefing has nothing to show (made before those matches arrived, or
    cut CUT_LAG before them). It is outside the chain of shared briefings, so the regular
    emails still brief every match once. A test briefing made earlier is reused while its
    radar has had no match since it was cut (another reader's test, a second click). None
    when the radar has no match in the last day."""
    since = now - TEST_WINDOW
    matches = Match.objects.filter(radar_id=radar_id, created_at__lt=now)
    if not matches.filter(created_at__gte=since).exists():
        return None
    name = Radar.objects.filter(pk=radar_id).values_list("name", flat=True).first()
    if name is None:  # deleted since its matches were counted
        return None
    earlier = (
        Briefing.objects.filter(
            radar_id=radar_id,
            language=language,
            is_test=True,
            status__in=READY,
            window_start__lte=since + timedelta(hours=1),
            window_end__lte=now,
        )
        .order_by("-window_end", "-id")
        .first()
    )
    if earlier is not None and not matches.filter(created_at__gte=earlier.window_end).exists():
        return earlier
    briefing = Briefing.objects.create(
        radar_id=radar_id,
        radar_name=name,
        cadence=Briefing.Cadence.DAY,
        period_start=period_start,
        language=language,
        is_test=True,
        window_start=since,
        window_end=now,
        created_at=now,
        updated_at=now,
    )
    briefing_build(briefing, now=now)
    return briefing
