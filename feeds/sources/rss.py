"""Adapter for journal feeds: RSS 2.0 (Science), RSS 1.0/RDF (Nature), Atom (PLOS)."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

import nh3

from feeds.sources.base import Page, PaperIn
from feeds.sources.common import (
    collapse_ws,
    normalise_doi,
    parse_feed,
    struct_date,
    xml_document,
)

KIND = "rss"
PAGE_SIZE: int | None = None

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
# Atypon sites (Science, Cell, NEJM) link `/doi/abs/10.1126/science.adw0379?af=R`.
_DOI_IN_PATH = re.compile(r"/doi/(?:abs/|full/|pdf/|epdf/)?(10\.\d{4,9}/.+)$", re.IGNORECASE)
# Block elements end a run of words; without a space there "</p><p>" glues two words together.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|section|table|tr|td|th)\b[^>]*>", re.IGNORECASE
)


def parse(body: bytes) -> Page:
    """The entries of one feed document (what could be recovered, if it is cut short)."""
    document, warnings = xml_document(body)
    return Page(entries=list(parse_feed(document).entries), warnings=warnings)


def normalise(raw: Any) -> PaperIn:
    """One journal entry as a PaperIn; its HTML abstract is kept for the sanitiser."""
    link = raw.get("link", "")
    doi = _doi(raw, link)
    abstract_html, abstract = _abstract(raw)
    authors = _authors(raw)
    # RSS 1.0's dc:date arrives as `updated`; a missing date is left for the pipeline to fill.
    published = struct_date(raw.get("published_parsed") or raw.get("updated_parsed"))
    links = {"abs": link} if link else {}
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    # Without a DOI the link is the most stable thing an entry has (ids are often the link too).
    fallback = link or raw.get("id") or raw.get("title", "")
    return PaperIn(
        key=doi or "link:" + hashlib.sha256(fallback.encode()).hexdigest()[:32],
        title=_text(raw.get("title", ""), raw.get("title_detail")),
        abstract=abstract,
        abstract_html=abstract_html,
        authors=authors,
        affiliations=[""] * len(authors),
        doi=doi,
        announced=published,
        published=published,
        links=links,
    )


def page_url(base_url: str, *, offset: int, state: dict[str, Any], today: date) -> str:
    """The feed URL itself: a journal feed is one document."""
    return base_url


def html_to_text(markup: str) -> str:
    """The words of an HTML fragment, tags dropped and entities decoded, on one line."""
    return collapse_ws(html.unescape(nh3.clean(_BLOCK_TAG.sub(" ", markup), tags=set())))


def _doi(raw: Any, link: str) -> str:
    """The entry's DOI from PRISM or Dublin Core, a DOI-shaped id (PLOS), or the link path."""
    for value in (raw.get("prism_doi"), raw.get("dc_identifier"), raw.get("id")):
        doi = normalise_doi(value)
        if doi:
            return doi
    match = _DOI_IN_PATH.search(unquote(urlsplit(link).path))
    return normalise_doi(match.group(1)) if match else ""


def _abstract(raw: Any) -> tuple[str, str]:
    """The abstract as (HTML, text); HTML is "" when the feed sent plain text."""
    # content:encoded (Nature) and Atom <content> (PLOS) are fuller than <description>/<summary>.
    contents = raw.get("content") or []
    detail = contents[0] if contents else raw.get("summary_detail")
    if not detail:
        return "", ""
    value = detail.get("value", "")
    if detail.get("type") in _HTML_TYPES:
        return value, html_to_text(value)
    return "", collapse_ws(value)


def _authors(raw: Any) -> list[str]:
    """Author names from `authors` (never `author`, which is the last or first one only)."""
    names = [name for name in (collapse_ws(a.get("name")) for a in raw.get("authors", [])) if name]
    if len(names) == 1 and "," in names[0]:
        # PLOS's RSS puts every author in one comma-joined <author>; a lone "Doe, Jane"
        # (no space inside a part) is one person and stays whole.
        parts = [part for part in map(collapse_ws, names[0].split(",")) if part]
        if all(" " in part for part in parts):
            return parts
    return names


def _text(value: str, detail: Any) -> str:
    """A title or similar as plain text, stripping tags only when the feed marked it as HTML."""
    if detail and detail.get("type") in _HTML_TYPES:
        return html_to_text(value)
    return collapse_ws(value)
