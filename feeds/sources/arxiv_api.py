"""Adapter for the arXiv query API (export.arxiv.org/api/query, Atom + OpenSearch)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from feeds.sources.base import ErrorKind, FeedError, Page, PaperIn
from feeds.sources.common import (
    arxiv_id_version,
    arxiv_links,
    collapse_ws,
    find_doi,
    parse_feed,
    struct_date,
    to_int,
    xml_document,
)

KIND = "arxiv_api"
PAGE_SIZE: int | None = 100

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"


def parse(body: bytes) -> Page:
    """One page of query results with its paging facts; the API's error entry raises."""
    document, warnings = xml_document(body)
    parsed = parse_feed(document)
    for entry in parsed.entries:
        # A bad query comes back as an entry titled "Error"; a paper could have that title,
        # so the error id is what identifies it.
        if "/api/errors#" in entry.get("id", ""):
            raise FeedError(ErrorKind.ERROR_FEED, collapse_ws(entry.get("summary")) or entry["id"])
    affiliations = _affiliations_by_entry(document)
    for entry in parsed.entries:
        # Carried on the raw entry so that normalise() sees everything in one place.
        entry["author_affiliations"] = affiliations.get(entry.get("id", ""), [])
    return Page(
        entries=list(parsed.entries),
        total=to_int(parsed.feed.get("opensearch_totalresults")),
        offset=to_int(parsed.feed.get("opensearch_startindex")) or 0,
        warnings=warnings,
    )


def normalise(raw: Any) -> PaperIn:
    """One API entry as a PaperIn (Unicode text, whitespace of hard-wrapped lines collapsed)."""
    arxiv_id, version = arxiv_id_version(raw.get("id", ""))
    authors = [collapse_ws(author.get("name")) for author in raw.get("authors", [])]
    affiliations = raw.get("author_affiliations") or []
    if len(affiliations) != len(authors):
        affiliations = [""] * len(authors)
    categories = [tag["term"] for tag in raw.get("tags", []) if tag.get("term")]
    primary = (raw.get("arxiv_primary_category") or {}).get("term", "")
    if primary:
        # Primary first, as in the RSS listings, so both sources give the same order.
        categories = [primary, *(c for c in categories if c != primary)]
    journal_doi = find_doi(raw.get("arxiv_doi"))
    return PaperIn(
        key=arxiv_id,
        title=collapse_ws(raw.get("title")),
        abstract=collapse_ws(raw.get("summary")),
        authors=authors,
        affiliations=affiliations,
        arxiv_id=arxiv_id,
        version=version,
        # The API does not say why a paper is listed; a later version is a replacement.
        announce_type="new" if version == 1 else "replace",
        primary_category=primary or (categories[0] if categories else ""),
        categories=categories,
        # `updated` is when this version appeared, `published` when version 1 did.
        announced=struct_date(raw.get("updated_parsed")),
        published=struct_date(raw.get("published_parsed")),
        journal_ref=collapse_ws(raw.get("arxiv_journal_ref")),
        journal_doi=journal_doi,
        links=arxiv_links(arxiv_id, version, journal_doi),
    )


def page_url(base_url: str, *, offset: int, state: dict[str, Any], today: date) -> str:
    """The base query URL with `start` and `max_results` set for the page at `offset`."""
    parts = urlsplit(base_url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in ("start", "max_results")
    ]
    query += [("start", str(offset)), ("max_results", str(PAGE_SIZE))]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":,/")))


def _affiliations_by_entry(body: bytes) -> dict[str, list[str]]:
    """Per entry id, each author's affiliations ("; "-joined, "" where none)."""
    # feedparser keeps only one `arxiv:affiliation` per entry, so read them from the XML
    # itself, with defusedxml refusing any DOCTYPE (arXiv never sends one).
    try:
        root = DefusedET.fromstring(body, forbid_dtd=True)
    except (DefusedET.ParseError, DefusedXmlException, ValueError):
        return {}
    return {
        collapse_ws(entry.findtext(f"{_ATOM}id")): [
            "; ".join(
                collapse_ws(affiliation.text)
                for affiliation in author.iter(f"{_ARXIV}affiliation")
                if affiliation.text
            )
            for author in entry.iter(f"{_ATOM}author")
        ]
        for entry in root.iter(f"{_ATOM}entry")
    }
