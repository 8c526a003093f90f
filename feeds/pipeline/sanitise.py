"""Sanitising: the last step before storage. Everything from a feed is untrusted.

Titles and abstracts leave as plain text without stray markup or TeX text macros
(`feeds.pipeline.text`); only journal abstracts keep HTML, through nh3's allow-list. Author
names and affiliations leave with their TeX accents as Unicode, for every source kind.

`safe_url` is also the rule for showing a link (feeds.labels, feeds.views): one rule for
what may be stored and what may be linked."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import nh3

from feeds.pipeline.text import clean_abstract, clean_abstract_html, clean_title
from feeds.sources.base import PaperIn
from feeds.sources.common import tex_to_unicode

# Caps, applied before nh3 (which is quadratic on deep nesting).
MAX_TITLE = 1_000
MAX_ABSTRACT = 64 * 1024
MAX_AUTHORS = 500
MAX_NAME = 300
MAX_SHORT = 255
MAX_CATEGORIES = 50
EARLIEST_DATE = date(1990, 1, 1)

# Inline and block tags a journal abstract may keep; attributes only on links.
ABSTRACT_TAGS = {
    "p", "br", "b", "strong", "i", "em", "sub", "sup", "ul", "ol", "li", "h3", "h4", "span", "a",
}  # fmt: skip
ABSTRACT_ATTRIBUTES = {"a": {"href"}}
# Bidi overrides and zero-width characters can disguise text; drop them from plain text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def clean_text(value: str, cap: int) -> str:
    """Plain text: capped, NUL/control/invisible characters removed, spaces collapsed."""
    value = _CONTROL.sub("", value[:cap])
    value = _INVISIBLE.sub("", value)
    return _SPACES.sub(" ", value).strip()


def clean_html(value: str, cap: int) -> str:
    """HTML from a feed reduced to an allow-list (nh3); links http/https only."""
    value = _CONTROL.sub("", value[:cap])
    return nh3.clean(
        value,
        tags=ABSTRACT_TAGS,
        attributes=ABSTRACT_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def safe_url(value: object) -> str:
    """`value` if it is an absolute http(s) URL without credentials, else "" (no
    `javascript:` or `data:` links). Checked when a link is stored and again when shown."""
    if not isinstance(value, str):
        return ""
    value = clean_text(value, 2_000)
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return ""
    return value


def sane_date(value: date | None, *, fetched: date) -> date | None:
    """A date we can believe: not before 1990, not after tomorrow; else None."""
    if value is None or value < EARLIEST_DATE or value > fetched + timedelta(days=1):
        return None
    return value


def paper_sanitise(paper: PaperIn, *, fetched: date) -> PaperIn | None:
    """A clean copy of `paper` ready to store, or None when nothing usable is left."""
    key = clean_text(paper.key, MAX_SHORT)
    title = clean_title(clean_text(paper.title, MAX_TITLE))
    if not key or not title:
        return None
    # TeX accents in names (`Gu{\dh}mundur`, `M{\"u}ller`) as Unicode, whichever adapter
    # read them: pages, RIS, meta tags and emails then agree on the stored name.
    authors = [tex_to_unicode(clean_text(a, MAX_NAME)) for a in paper.authors[:MAX_AUTHORS]]
    affiliations = [
        tex_to_unicode(clean_text(a, MAX_NAME)) for a in paper.affiliations[:MAX_AUTHORS]
    ]
    affiliations += [""] * (len(authors) - len(affiliations))
    kept = [(a, f) for a, f in zip(authors, affiliations, strict=False) if a]
    categories = [c for c in (clean_text(c, 80) for c in paper.categories[:MAX_CATEGORIES]) if c]
    links = {name: url for name, raw in paper.links.items() if (url := safe_url(raw))}
    announced = sane_date(paper.announced, fetched=fetched) or fetched
    return PaperIn(
        key=key,
        title=title,
        abstract=clean_abstract(clean_text(paper.abstract, MAX_ABSTRACT), title=title),
        abstract_html=clean_abstract_html(
            clean_html(paper.abstract_html, MAX_ABSTRACT), title=title
        )
        if paper.abstract_html
        else "",
        authors=[a for a, _ in kept],
        affiliations=[f for _, f in kept],
        arxiv_id=clean_text(paper.arxiv_id, 40),
        doi=clean_text(paper.doi, MAX_SHORT).lower(),
        version=max(1, min(paper.version, 1000)),
        announce_type=paper.announce_type if paper.announce_type in _ANNOUNCE_TYPES else "new",
        primary_category=clean_text(paper.primary_category, 80),
        categories=categories,
        announced=announced,
        published=sane_date(paper.published, fetched=fetched),
        journal_ref=clean_text(paper.journal_ref, 1_000),
        journal_doi=clean_text(paper.journal_doi, MAX_SHORT).lower(),
        links=links,
    )


_ANNOUNCE_TYPES = {"new", "cross", "replace", "replace-cross"}
