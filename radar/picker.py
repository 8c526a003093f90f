"""Start a radar from papers you like: find papers by words, meaning, id, DOI or author for the
radar form's paper picker, and read back the papers its `examples` field names.

Nothing here writes: picked papers live as keys in the radar's `examples` (one per line),
so saving a radar made this way is the ordinary save.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from feeds.labels import PaperCard, display_text, paper_card
from feeds.models import Paper
from feeds.search import parse_search, search_hits
from feeds.selectors import papers_by_name, papers_for_display
from radar.search import search_hybrid
from radar.services import example_key, list_items

# The papers the picker lists for a search, and for an author.
PICK_RESULTS = 8
AUTHOR_PAPERS = 5
# The recent papers read to name the author a query means.
AUTHOR_SCAN = 200
# The count a radar made from examples alone wants: the page guides to it, never enforces it.
PICK_GOAL = (3, 5)

_ARXIV_NEW = re.compile(r"(?i)^(?:arxiv:)?\d{4}\.\d{4,5}(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"(?i)^(?:arxiv:)?[a-z][a-z.-]*/\d{7}(?:v\d+)?$")
_ARXIV_URL = re.compile(r"(?i)^https?://(?:www\.)?arxiv\.org/(?:abs|pdf)/(\S+?)(?:\.pdf)?/?$")
_DOI = re.compile(r"(?i)^(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/\S+$")
# Pasted lists: ids separated by spaces, commas, semicolons or lines (DOIs may hold commas
# only in theory; none of the sources' do).
_SEPARATORS = re.compile(r"[\s,;，；]+")
_DIGITS = re.compile(r"\d")


def key_of(token: str) -> str | None:
    """The paper key an arXiv id, arXiv URL or DOI (plain, `doi:` or a doi.org URL) stands
    for, or None when the token is none of these."""
    token = token.strip().rstrip(".")
    url = _ARXIV_URL.match(token)
    if url:
        token = url.group(1)
    if _ARXIV_NEW.match(token) or _ARXIV_OLD.match(token) or _DOI.match(token):
        return example_key(token)
    return None


def pasted_keys(text: str) -> list[str]:
    """The paper keys in `text` when it is nothing but ids and DOIs (else []), in order."""
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    keys = [key_of(t) for t in tokens]
    if not tokens or any(k is None for k in keys):
        return []
    return list(dict.fromkeys(k for k in keys if k))


def examples_with(text: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> str:
    """The `examples` text with these keys added (unless present) and removed."""
    gone = {example_key(k) for k in remove}
    lines = [line for line in list_items(text) if example_key(line) not in gone]
    have = {example_key(line) for line in lines}
    for item in add:
        key = key_of(item) or example_key(item)
        if key and key not in have:
            lines.append(key)
            have.add(key)
    return "\n".join(lines)


def authors_with(text: str, name: str) -> str:
    """The `authors` text with `name` added unless it is there already (in any case)."""
    lines = list_items(text)
    name = display_text(name).strip()
    if name and name.casefold() not in {line.casefold() for line in lines}:
        lines.append(name)
    return "\n".join(lines)


def papers_by_keys(keys: Iterable[str]) -> dict[str, Paper]:
    """The papers these keys name (`feeds.selectors.papers_by_name`), ready for display."""
    return papers_by_name(keys, papers_for_display(Paper.objects.all()))


@dataclass
class Picked:
    """One entry of the `examples` field: as written, its key, and its paper if known."""

    line: str
    key: str
    card: PaperCard | None


def picked_papers(examples_text: str) -> list[Picked]:
    """The example papers of a radar form's `examples` text, in order, each found or not."""
    lines = list_items(examples_text)
    keyed: dict[str, str] = {}
    for line in lines:
        keyed.setdefault(example_key(line), line)
    papers = papers_by_keys(keyed)
    return [
        Picked(line, key, paper_card(papers[key]) if key in papers else None)
        for key, line in keyed.items()
    ]


@dataclass
class PickResults:
    """What the picker shows for a query: pasted ids (found and not), papers by words and
    meaning, and an author whose recent papers can be added or who can be followed."""

    q: str
    cards: list[PaperCard] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the query was these ids / DOIs
    missing: list[str] = field(default_factory=list)  # of those, the ones not here
    author: str = ""
    author_cards: list[PaperCard] = field(default_factory=list)

    @property
    def found_keys(self) -> list[str]:
        """The keys of the papers a pasted list found, for "Add all"."""
        return [card.paper.key for card in self.cards] if self.keys else []

    @property
    def empty(self) -> bool:
        """Nothing to show but "no paper found"."""
        return not (self.cards or self.missing or self.author)


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 5 and 2 <= len(text) <= 80 and not _DIGITS.search(text)


def author_named(text: str) -> str:
    """The author, as written on recent papers, whom `text` names (whole words, any case):
    the most frequent such name, or "" when no author of a recent paper has those words."""
    if not _looks_like_name(text):
        return ""
    words = re.compile(
        r"(?<!\w)" + r"\W+".join(re.escape(w) for w in text.split()) + r"(?!\w)", re.IGNORECASE
    )
    # The recent papers with the words among their authors (newest first), then their names.
    ids = search_hits(q="", author=text).ids[:AUTHOR_SCAN]
    rows = Paper.objects.filter(id__in=ids).values_list("authors", flat=True)
    names: Counter[str] = Counter()
    for authors in rows:
        names.update(a for a in authors if words.search(a))
    return names.most_common(1)[0][0] if names else ""


def pick_search(q: str, *, limit: int = PICK_RESULTS) -> PickResults:
    """The picker's results for `q`: a pasted list of ids and DOIs, else papers by words and
    meaning, and the author the words name (also as `author:Name`)."""
    q = display_text(q).strip()[:500]
    result = PickResults(q=q)
    if not q:
        return result
    keys = pasted_keys(q)
    if keys:
        found = papers_by_keys(keys)
        result.keys = keys
        result.missing = [k for k in keys if k not in found]
        seen: set[int] = set()
        for key in keys:
            paper = found.get(key)
            if paper is not None and paper.pk not in seen:
                seen.add(paper.pk)
                result.cards.append(paper_card(paper))
        return result
    text, author = parse_search(q)
    result.author = author_named(author or text)
    if result.author:
        by_author = papers_for_display(
            Paper.objects.filter(authors__contains=[result.author]).order_by("-announced", "-id")
        )[:AUTHOR_PAPERS]
        result.author_cards = [paper_card(p) for p in by_author]
    # A name alone asks for that author's papers: papers merely close in meaning to a
    # surname would be noise.
    if text and not (result.author and not author):
        found_papers = search_hybrid(q=text, page_size=limit).papers
        shown = {card.paper.pk for card in result.author_cards}
        result.cards = [paper_card(p) for p in found_papers if p.pk not in shown]
    return result
