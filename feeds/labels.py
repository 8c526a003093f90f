"""How a paper is shown: its source label, badge, links, and feed text made safe to display.

No database access here: callers prefetch `sightings` with their sources.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from urllib.parse import quote

from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from feeds.models import ARXIV_KINDS, Paper, PaperSighting, Source
from feeds.names import arxiv_label, preprint_label, source_name
from feeds.pipeline.sanitise import safe_url
from feeds.pipeline.text import clean_abstract, clean_abstract_html, clean_title

AUTHORS_SHOWN = 3

_PREPRINT_SERVER_KINDS = {Source.Kind.BIORXIV_API, Source.Kind.MEDRXIV_API}

# Bidi embeddings/overrides/isolates and other invisible controls. A feed could use U+202E
# to make text read backwards (spoofing a link or name); they are dropped before display.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def display_text(value: str) -> str:
    """Feed text without control or bidi-override characters (HTML escaping stays Django's)."""
    return _UNSAFE_CHARS.sub("", value or "")


# The end of a text a feed cut short mid-word: no closing punctuation and a last word of
# letters only (an abstract ending in a URL, a number or a formula is left whole).
_CUT_WORD = re.compile(r"\s+[^\W\d_][\w-]*$")
_ENDS_WHOLE = re.compile(r"""[.!?。！？)\]}"'”’»$…:;]\s*$""")
# "…", "...", "[…]", "[...]" where a feed says it stopped.
_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*$")
# bioRxiv's and medRxiv's answers in the sample data (and the fixture recorded from them) stop
# at 200 characters, mid-word. A whole abstract is longer, or ends on its full stop.
PREPRINT_CUT_LENGTH = 200


def feed_cut(text: str, *, from_preprint_server: bool | None = None) -> bool:
    """Whether a feed cut `text` short: it ends in an ellipsis, or it stops mid-sentence on a
    word at no more than the length bioRxiv/medRxiv answers are cut at (and, when the caller
    knows the source, comes from one of them). A whole abstract that merely lacks its final
    full stop ("…for quantum contextuality") is not cut."""
    if not text:
        return False
    if _ELLIPSIS.search(text):
        return True
    return (
        from_preprint_server is not False
        and len(text) <= PREPRINT_CUT_LENGTH
        and not _ENDS_WHOLE.search(text)
        and _CUT_WORD.search(text) is not None
    )


def whole_words(text: str, *, cut: bool | None = None) -> str:
    """`text` ending at its last whole word with "…" when a feed cut it (`cut`, else decided
    by `feed_cut` from the text alone); unchanged otherwise."""
    if cut is None:
        cut = feed_cut(text)
    if not text or not cut:
        return text
    body = _ELLIPSIS.sub("", text)
    if body != text and _ENDS_WHOLE.search(body):
        return body + " …"  # the feed stopped after a whole sentence
    # Without a space before the feed's ellipsis, or without an ellipsis at all, the last word
    # may be a piece of one: it goes. After a space it is whole.
    if body == text or not text[len(body) : len(body) + 1].isspace():
        body = _CUT_WORD.sub("", body) if _CUT_WORD.search(body) else body
    return body.rstrip(" ,;:-–—") + "…"


def doi_url(doi: str) -> str:
    """The resolver URL of a DOI."""
    return "https://doi.org/" + quote(display_text(doi).strip(), safe="/:;()._-")


def _server_label(paper: Paper) -> str:
    abs_link = str((paper.links or {}).get("abs", ""))
    return "medRxiv" if "medrxiv.org" in abs_link else "bioRxiv"


def _sorted_sightings(paper: Paper) -> list[PaperSighting]:
    # .all() uses the prefetch cache; sort here so the choice never depends on row order.
    return sorted(paper.sightings.all(), key=lambda s: (s.first_seen, s.pk))


def source_label(paper: Paper) -> str:
    """ "arXiv (cs.CL)", "bioRxiv (Bioinformatics)", or the journal source's label, in the
    current language ("arXiv（cs.CL 计算与语言）", "bioRxiv（生物信息学）": `feeds.names`).

    Decided by the arXiv id, else by the first source that carried the paper; the front
    page's sections (`feeds.front`, labelled by `feeds.selectors.toc_label`) group papers
    the same way.
    """
    sightings = _sorted_sightings(paper)
    kind = sightings[0].source.kind if sightings else ""
    if paper.arxiv_id or kind in ARXIV_KINDS:
        return arxiv_label(paper.primary_category)
    if kind in _PREPRINT_SERVER_KINDS:
        return preprint_label(_server_label(paper), paper.primary_category)
    if sightings:
        return source_name(display_text(sightings[0].source.label))
    return ""


ANNOUNCE_CSS: dict[str, str] = {
    Paper.AnnounceType.NEW: "badge--new",
    Paper.AnnounceType.CROSS: "badge--cross",
    Paper.AnnounceType.REPLACE: "badge--replace",
    Paper.AnnounceType.REPLACE_CROSS: "badge--replace-cross",
}


def announce_text(announce_type: str, version: int) -> str:
    """ "new", "cross-list", "updated v2" in the current language."""
    if announce_type in (Paper.AnnounceType.REPLACE, Paper.AnnounceType.REPLACE_CROSS):
        return _("updated v%(version)s") % {"version": version}
    if announce_type == Paper.AnnounceType.CROSS:
        return _("cross-list")
    if announce_type == Paper.AnnounceType.NEW:
        return _("new")
    return ""


@dataclass(frozen=True)
class Link:
    """One outbound link of a paper."""

    kind: str
    text: str
    url: str


def paper_links(paper: Paper) -> list[Link]:
    """abs, PDF, HTML, DOI and journal version, each only when known and http(s)."""
    links = paper.links or {}
    out: list[Link] = []

    def add(kind: str, text: str, url: str) -> None:
        url = safe_url(url)
        if url and all(link.url != url for link in out):
            out.append(Link(kind, text, url))

    add("abs", _("abs"), links.get("abs", ""))
    add("pdf", _("PDF"), links.get("pdf", ""))
    add("html", _("HTML"), links.get("html", ""))
    if paper.doi:
        add("doi", _("DOI"), doi_url(paper.doi))
    elif links.get("doi") and not paper.journal_doi:
        add("doi", _("DOI"), links.get("doi", ""))
    if paper.journal_doi and paper.journal_doi != paper.doi:
        add("journal", _("Journal version"), doi_url(paper.journal_doi))
    return out


@functools.lru_cache(maxsize=1024)
def _day_text(day: date, language: str | None) -> str:
    return date_format(day, "DATE_FORMAT")


def day_text(day: date) -> str:
    """The day as the current language writes it ("Nov. 28, 2024", "2024年11月28日"): a
    page of cards writes the same few days again and again."""
    return _day_text(day, get_language())


class PaperCard:
    """Everything a card (or the paper page) shows, worked out from the paper when first asked
    for: a card whose body comes from the cache (`digests.fragments`) never cleans its title,
    abstract, authors or links."""

    def __init__(self, paper: Paper, number: int = 0) -> None:
        self.paper = paper
        self.number = number
        # Search results: highlighted, already-escaped HTML (see feeds.search.headline_html).
        self.title_html = ""
        self.snippet_html = ""
        # Search results: why the paper came ("matches your words", "close in meaning (0.86)").
        self.why: list[str] = []

    @cached_property
    def label(self) -> str:
        return source_label(self.paper)

    @cached_property
    def title(self) -> str:
        # Cleaned again here for rows stored before a cleaning rule existed (a no-op otherwise).
        return clean_title(display_text(self.paper.title))

    @cached_property
    def abstract(self) -> str:
        text = clean_abstract(display_text(self.paper.abstract), title=self.title)
        cut = feed_cut(text, from_preprint_server=self._from_preprint_server)
        return whole_words(text, cut=cut)

    @property
    def _from_preprint_server(self) -> bool:
        # From the paper's own link, not its sightings: the radar pages' cards have none loaded.
        abs_link = str((self.paper.links or {}).get("abs", ""))
        return not self.paper.arxiv_id and (
            "biorxiv.org/" in abs_link or "medrxiv.org/" in abs_link
        )

    @cached_property
    def abstract_html(self) -> str:
        """nh3-sanitised HTML from journal feeds (the only feed HTML ever rendered as markup)."""
        return clean_abstract_html(display_text(self.paper.abstract_html), title=self.title)

    @cached_property
    def authors(self) -> list[str]:
        return [name for name in map(display_text, self.paper.authors) if name.strip()]

    @property
    def announced_iso(self) -> str:
        return self.paper.announced.isoformat()

    @property
    def announced_text(self) -> str:
        return day_text(self.paper.announced)

    @cached_property
    def badge_css(self) -> str:
        return ANNOUNCE_CSS.get(self.paper.announce_type, "")

    @cached_property
    def badge_text(self) -> str:
        return announce_text(self.paper.announce_type, self.paper.version)

    @cached_property
    def links(self) -> list[Link]:
        return paper_links(self.paper)

    @property
    def authors_short(self) -> list[str]:
        """The first few authors; the template adds "et al." when there are more."""
        return self.authors[:AUTHORS_SHOWN]

    @property
    def authors_separator(self) -> str:
        """ "; " when names are written "Surname, I." (bioRxiv), else ", "."""
        return "; " if any("," in name for name in self.authors) else ", "

    @property
    def has_more_authors(self) -> bool:
        """More authors than the card shows at first."""
        return len(self.authors) > AUTHORS_SHOWN


def paper_card(paper: Paper, number: int = 0) -> PaperCard:
    """A paper's display data (sightings must be prefetched with their sources)."""
    return PaperCard(paper, number)
