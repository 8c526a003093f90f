"""The neutral shapes every source adapter produces, and the errors they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


class ErrorKind:
    """Names of the typed errors recorded on a source (shown on the health page)."""

    TIMEOUT = "timeout"
    NETWORK = "network"
    HTTP_4XX = "http_4xx"
    RATE_LIMITED = "http_429"
    HTTP_5XX = "http_5xx"
    GONE = "gone"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "redirects"
    BAD_URL = "bad_url"
    PARSE = "parse_error"
    HTML_NOT_FEED = "html_not_feed"
    ERROR_FEED = "error_feed"
    EMPTY = "empty"
    INTERNAL = "internal"


class FeedError(Exception):
    """A response that is not a usable feed: an error feed, HTML, garbage, an empty page."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class PaperIn:
    """One paper as a source describes it, before sanitising and storage."""

    key: str
    title: str
    abstract: str = ""
    # Only for sources whose abstracts are HTML (journals); sanitised before storage.
    abstract_html: str = ""
    authors: list[str] = field(default_factory=list)
    # Parallel to `authors`: the affiliation text of each author, "" where none is given.
    affiliations: list[str] = field(default_factory=list)
    arxiv_id: str = ""
    doi: str = ""
    version: int = 1
    announce_type: str = "new"
    primary_category: str = ""
    categories: list[str] = field(default_factory=list)
    announced: date | None = None
    published: date | None = None
    journal_ref: str = ""
    journal_doi: str = ""
    links: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Page:
    """What one response holds: raw entries plus paging facts where the source pages."""

    entries: list[Any]
    # Total number of records the query has (paginated APIs), None for plain feeds.
    total: int | None = None
    # Offset of the first entry of this page (paginated APIs).
    offset: int = 0
    # Records the page held before the adapter merged any (bioRxiv sends one per version);
    # the next page starts after all of them. None: as many as `entries`.
    count: int | None = None
    # Characters the document could not give intact: bytes invalid in its encoding (stored
    # as U+FFFD) and characters XML forbids (dropped). Counted, never fatal.
    warnings: int = 0


class Adapter(Protocol):
    """The shape of every module in `feeds.sources`: no database, no network."""

    KIND: str
    # Records per request for paginated sources; None for single-document feeds.
    PAGE_SIZE: int | None

    def parse(self, body: bytes) -> Page: ...

    def normalise(self, raw: Any) -> PaperIn: ...

    def page_url(self, base_url: str, *, offset: int, state: dict[str, Any], today: date) -> str:
        """The URL of the page at `offset` (the base URL itself for plain feeds)."""
        ...
