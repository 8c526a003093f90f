"""Adapter for the bioRxiv/medRxiv details API (api.biorxiv.org, JSON, 100 records a page)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from feeds.sources.base import ErrorKind, FeedError, Page, PaperIn
from feeds.sources.common import (
    collapse_ws,
    json_text,
    looks_like_html,
    normalise_doi,
    to_int,
)

KIND = "biorxiv_api"
PAGE_SIZE: int | None = 100

# How far back the first request of a source without a `since` reaches.
_DEFAULT_WINDOW = timedelta(days=2)

# The API flattens JATS markup into marker tokens glued to the words around them:
# figure and table blocks full of viewer debris, small caps as `AO_SCPLOWBSTRACTC_SCPLOW`
# ("Abstract": the converter upper-cased the small letters), and section titles and list
# items as `O_ST_ABSBackgroundC_ST_ABS`, `HighlightsO_LIfirst C_LIO_LIsecond C_LI`.
# Long markers are distinctive enough to remove wherever they appear. Short ones (`O_LI`,
# `C_FIG`) are glued to lower-case words too, so `\b` cannot find them; they are taken
# only where no upper-case letter, digit or underscore precedes, so `MACRO_LIST` survives.
_NOT_IN_A_NAME = r"(?<![A-Z0-9_])"
_FIGURE_OR_TABLE = re.compile(_NOT_IN_A_NAME + r"O_(FIG|TBL)\b.*?[MC]_\1\b", re.DOTALL)
_SMALL_CAPS = re.compile(r"O_SCPLOW(.*?)C_SCPLOW", re.DOTALL)
_MARKER = re.compile(
    r"[OC]_SCPLOW|C_LIO_LI|[OC]_LINKSMALLFIG|[OC]_ST_ABS|"
    + _NOT_IN_A_NAME
    + r"(?:[OC]_LI|[OCM]_(?:FIG|TBL)(?![A-Za-z]))"
)


def parse(body: bytes) -> Page:
    """One page of records, keeping only the highest version of each DOI."""
    text, warnings = json_text(body)
    try:
        data = json.loads(text)
    except ValueError as error:
        kind = ErrorKind.HTML_NOT_FEED if looks_like_html(body) else ErrorKind.PARSE
        raise FeedError(kind, f"not JSON: {error}") from None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not messages or not isinstance(messages, list) or not isinstance(messages[0], dict):
        raise FeedError(ErrorKind.PARSE, "JSON without a `messages` block")
    message = messages[0]
    records = [record for record in data.get("collection") or [] if isinstance(record, dict)]
    status = str(message.get("status", ""))
    if status != "ok" and not records:
        # An interval with nothing posted (or a cursor past the end) is a quiet day.
        if "no posts found" in status.lower():
            return Page(
                entries=[], total=0, offset=to_int(message.get("cursor")) or 0, warnings=warnings
            )
        raise FeedError(ErrorKind.ERROR_FEED, status or "the API answered without a status")
    return Page(
        count=len(records),
        entries=_latest_versions(records),
        # `cursor` and `count` arrive as numbers but `total` as a string.
        total=to_int(message.get("total")),
        offset=to_int(message.get("cursor")) or 0,
        warnings=warnings,
    )


def normalise(raw: dict[str, Any]) -> PaperIn:
    """One record (one version of one preprint) as a PaperIn."""
    doi = normalise_doi(_text(raw, "doi"))
    if not doi:
        # ValueError, not FeedError: one bad record is skipped, the rest of the page is kept.
        raise ValueError(f"record without a DOI: {raw.get('title')!r}")
    version = _version(raw)
    authors = [name for name in map(collapse_ws, _text(raw, "authors").split(";")) if name]
    # bioRxiv sends lower-case subjects ("cancer biology"); lower-casing every server's keeps
    # category filters working whatever case a server uses.
    category = collapse_ws(_text(raw, "category")).lower()
    posted = _iso_date(_text(raw, "date"))
    journal_doi = normalise_doi(_text(raw, "published"))
    server = "medrxiv" if _text(raw, "server").lower() == "medrxiv" else "biorxiv"
    abs_url = f"https://www.{server}.org/content/{doi}v{version}"
    links = {"abs": abs_url, "pdf": f"{abs_url}.full.pdf", "doi": f"https://doi.org/{doi}"}
    return PaperIn(
        key=doi,
        title=clean_jats(_text(raw, "title")),
        abstract=clean_jats(_text(raw, "abstract")),
        authors=authors,
        affiliations=[""] * len(authors),
        doi=doi,
        version=version,
        announce_type="new" if version == 1 else "replace",
        primary_category=category,
        categories=[category] if category else [],
        announced=posted,
        # A record's date is when this version was posted; only version 1's is the first posting.
        published=posted if version == 1 else None,
        journal_doi=journal_doi,
        links=links,
    )


def page_url(base_url: str, *, offset: int, state: dict[str, Any], today: date) -> str:
    """`{base}/{since}/{today}/{offset}/json`, since = `state["since"]` or two days ago."""
    since = _iso_date(str(state.get("since") or "")[:10]) or today - _DEFAULT_WINDOW
    since = min(since, today)
    return f"{base_url.rstrip('/')}/{since.isoformat()}/{today.isoformat()}/{offset}/json"


def clean_jats(text: str) -> str:
    """A title or abstract without the JATS marker debris, on one line."""
    text = _FIGURE_OR_TABLE.sub(" ", text)
    text = _SMALL_CAPS.sub(lambda match: match.group(1).lower(), text)
    return collapse_ws(_MARKER.sub(" ", text))


def _latest_versions(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with only the highest version of each DOI, in first-seen order."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        doi = _text(record, "doi").lower()
        if doi not in latest or _version(record) > _version(latest[doi]):
            latest[doi] = record
    return list(latest.values())


def _version(record: dict[str, Any]) -> int:
    """The record's version number (a string in the JSON), 1 when missing."""
    return to_int(record.get("version")) or 1


def _text(record: dict[str, Any], name: str) -> str:
    """A string field, with the API's "NA" (and anything not a string, e.g. a funder list) as ""."""
    value = record.get(name)
    if not isinstance(value, str) or value.strip().upper() == "NA":
        return ""
    return value


def _iso_date(value: str) -> date | None:
    """A `YYYY-MM-DD` date, None when empty or malformed."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
