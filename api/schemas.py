"""The API's JSON shapes: a paper is exactly `feeds.export.paper_export`; a radar is the
definition of DESIGN §7 (`radar.services.RADAR_FIELDS`) plus its id and timestamps."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, model_validator

from api.selectors import MAX_PAGE
from radar.scoring import DEFAULT_THRESHOLD
from radar.services import MAX_ITEM_CHARS, MAX_LIST_ITEMS, THRESHOLD_RANGE
from radar.understanding import KEYWORD_CAP, KEYWORDS_MAX, TEXT_CAP, understood_for

# Characters PostgreSQL (NUL) or XML 1.0 (other C0 controls but tab, LF and CR; U+FFFE/F)
# cannot store: refused in every string the API takes (422 naming the field), never a 500.
_STORABLE = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
STORABLE = f"^{_STORABLE}*$"
# Storable, and not only white space (it is stripped before use).
NOT_BLANK = rf"^{_STORABLE}*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]{_STORABLE}*$"
# The owner's English profile is matched against English papers: Latin letters only.
ENGLISH = r"^[\t\n\r\x20-\x7e\u00c0-\u024f]*$"

# The query words and paper keys the paper list, topics and path parameters take.
ShortText = Annotated[str, Field(max_length=200, pattern=STORABLE)]
ListItem = Annotated[str, Field(max_length=MAX_ITEM_CHARS, pattern=STORABLE)]
# Categories and source slugs are stored in 80 characters.
Code = Annotated[str, Field(max_length=80, pattern=STORABLE)]


class PaperOut(Schema):
    """A paper under the field names of `manage.py export_papers` (DESIGN §8)."""

    key: str
    arxiv_id: str
    doi: str
    version: int
    announce_type: str
    title: str
    abstract: str
    authors: list[str]
    primary_category: str
    categories: list[str]
    announced: str = Field(description="ISO date of the announcement")
    year: int = Field(
        description="the year a citation gives (as in the BibTeX and RIS exports): the "
        "journal's for a published article, else the preprint's first posting"
    )
    journal_ref: str
    journal_doi: str
    links: dict[str, str] = Field(description="abs, pdf, html and doi, where known")
    sources: list[str] = Field(description="labels of the feeds that carried the paper")
    card: dict[str, Any] | None = Field(
        None,
        description="once generated: status, title_zh, and en/zh with tldr, motivation, "
        "method, result, conclusion (absent before)",
    )


class PaperPageOut(Schema):
    """One page of papers; `next_page` is null on the last page."""

    count_on_page: int
    page: int
    next_page: int | None
    papers: list[PaperOut]


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD: pydantic would also read `0` or `1700000000` as a date."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("Expected a date as YYYY-MM-DD.")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _whole(value: object) -> object:
    """`7.0` as 7: JSON Schema counts a number without a fraction as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a strict body, which may arrive written as 7.0.
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class PaperQuery(Schema):
    """The filters of the Today page, plus full-text search."""

    date: IsoDate | None = Field(
        None, description="announcement day (YYYY-MM-DD); without it and q, the latest day"
    )
    source: ShortText = Field("", description="only papers this source carried (its slug)")
    category: ShortText = Field("", description="papers listed in this category, e.g. cs.CL")
    announce_type: Literal["", "new", "cross", "replace", "replace-cross"] = ""
    q: ShortText = Field("", description="search words; quoted phrases, OR and -word work")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 papers")


class ErrorOut(Schema):
    """What every error response carries."""

    detail: str


# --- radars and topics ---------------------------------------------------------------------


class UnderstoodIn(Schema):
    """A search profile in English written by the radar's owner (it replaces the LLM's)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(
        "",
        max_length=TEXT_CAP,
        pattern=ENGLISH,
        description="the interest in one to three English sentences (Latin letters)",
    )
    keywords: list[Annotated[str, Field(max_length=KEYWORD_CAP, pattern=ENGLISH)]] = Field(
        default_factory=list,
        max_length=KEYWORDS_MAX,
        description="up to 12 English words or short phrases",
    )


class UnderstoodOut(Schema):
    """The radar's description understood as an English search profile."""

    text: str = Field(description="an English paraphrase of the description")
    keywords: list[str] = Field(description="English phrases matched in titles and abstracts")
    by: Literal["llm", "you"] = Field(description="written by the language model, or by you")
    model: str = Field(description="the language model that wrote it ('' if you did)")


# What a radar looks for: one of these must say something (a blank entry says nothing).
LOOKS_FOR = ("description", "include", "authors", "examples")
_SAYS_SOMETHING: dict[str, Any] = {
    "description": {"pattern": NOT_BLANK},
    "include": {"pattern": NOT_BLANK},
    "authors": {"contains": {"type": "string", "pattern": NOT_BLANK}},
    "examples": {"contains": {"type": "string", "pattern": NOT_BLANK}},
}


class RadarPatchIn(Schema):
    """The fields of a radar to change (PATCH sends only those); each is checked as on a new
    radar, and `radar_clean` checks the radar as a whole still looks for something."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(
        "",
        min_length=1,
        max_length=120,
        pattern=NOT_BLANK,
        description="shown in lists and briefings (1 to 120 characters, not only spaces)",
    )
    description: str = Field(
        "",
        max_length=2000,
        pattern=STORABLE,
        description="the interest in plain words, any language; papers close to it in "
        "meaning match even without a phrase hit",
    )
    include: str = Field(
        "",
        max_length=1000,
        pattern=STORABLE,
        json_schema_extra={"format": "radar-query"},
        description="a query: quoted phrases, AND/OR/NOT and parentheses, e.g. "
        '`"prompt injection" OR jailbreak NOT survey` (one that does not parse is a 422)',
    )
    exclude: list[ListItem] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="phrases that keep a paper out, always",
    )
    categories: list[Code] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="only papers in one of these arXiv categories",
    )
    sources: list[Code] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="only papers one of these sources carried (slugs)",
    )
    authors: list[ListItem] = Field(
        default_factory=list, max_length=MAX_LIST_ITEMS, description="followed authors"
    )
    examples: list[ListItem] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="example papers: arXiv ids or DOIs (paper keys)",
    )
    threshold: float = Field(
        DEFAULT_THRESHOLD,
        ge=THRESHOLD_RANGE[0],
        le=THRESHOLD_RANGE[1],
        description="the lowest score shown, in points (5 to 95): higher shows fewer, closer papers",
    )
    public: bool = Field(False, description="listed as a topic others can subscribe to")
    understood: UnderstoodIn | None = Field(
        None,
        description="your own English search profile of the description (kept until the "
        "description changes); null hands it back to the language model",
    )


def _says_something(value: object) -> bool:
    if isinstance(value, list):
        return any(isinstance(item, str) and item.strip() for item in value)
    return isinstance(value, str) and bool(value.strip())


class RadarLookupIn(RadarPatchIn):
    """A whole definition to score papers with: a description, an include query, authors or
    example papers must say what to look for (the schema's anyOf)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "anyOf": [
                {"required": [field], "properties": {field: rule}}
                for field, rule in _SAYS_SOMETHING.items()
            ]
        },
    )

    @model_validator(mode="after")
    def _looks_for_something(self) -> RadarLookupIn:
        if not any(_says_something(getattr(self, field)) for field in LOOKS_FOR):
            raise ValueError("Describe the interest, or give phrases, authors or example papers.")
        return self


class RadarIn(RadarLookupIn):
    """A new radar: a name, and a description, phrases, authors or example papers."""

    name: str = Field(
        min_length=1,
        max_length=120,
        pattern=NOT_BLANK,
        description="shown in lists and briefings (1 to 120 characters, not only spaces)",
    )


class RadarOut(Schema):
    """A radar: its definition, id and timestamps (never its feed token or profile)."""

    id: int
    name: str
    description: str
    include: str
    exclude: list[str]
    categories: list[str]
    sources: list[str]
    authors: list[str]
    examples: list[str]
    threshold: float
    public: bool
    understood: UnderstoodOut | None = Field(
        None,
        description="the description as an English search profile, when one describes it "
        "now (null: none yet, or no language model configured)",
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_understood(obj: Any) -> dict[str, Any] | None:
        """The profile that describes the radar now (`radar.understanding.understood_for`)."""
        profile = understood_for(obj)
        if profile is None:
            return None
        return {
            "text": profile.text,
            "keywords": list(profile.keywords),
            "by": profile.by,
            "model": profile.model,
        }


class RadarListOut(Schema):
    """The token owner's radars, by name."""

    radars: list[RadarOut]


class PreviewIn(RadarLookupIn):
    """A radar definition (nothing is stored) and the window of papers to score."""

    days: WholeNumber = Field(
        7, ge=0, le=366, description="the last N announcement days with papers; 0 = all papers"
    )


class PreviewMatchOut(Schema):
    """A paper the radar would catch, its score and why."""

    key: str
    title: str
    announced: dt.date
    score: float = Field(description="points 0 to 100, the sum of the parts the reasons name")
    reasons: list[str] = Field(description="in the language asked for (Accept-Language)")


class PreviewOut(Schema):
    """The best matches first (at most 20), without the definition's example papers."""

    matches: list[PreviewMatchOut]
    examples_left_out: int = Field(
        description="how many of the example papers would have been matches: a radar's "
        "examples are never its matches, here or in its feed"
    )
    total: int = Field(
        description="how many papers of the preview's window (`days` announcement days) the "
        "definition catches in all; `matches` holds the best of them"
    )


class MatchOut(PreviewMatchOut):
    """A stored match, with the token owner's rating of the paper in this radar."""

    feedback: Literal[1, -1] | None = Field(description="1 👍, -1 👎, null: not rated")


class MatchPageOut(Schema):
    """One page of a radar's matches, newest announcement day first, best first within it."""

    count_on_page: int
    page: int
    next_page: int | None
    matches: list[MatchOut]


class MatchQuery(Schema):
    """Which page of matches."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 matches")


class FeedbackIn(Schema):
    """A rating of one paper in this radar: it steers the radar's later matches."""

    model_config = ConfigDict(extra="forbid", strict=True)

    key: str = Field(
        max_length=255, pattern=STORABLE, description="the paper's key (arXiv id or DOI)"
    )
    value: Annotated[Literal[1, -1, 0], BeforeValidator(_whole)] = Field(
        description="1 👍, -1 👎, 0 clears the rating"
    )


class FeedbackOut(Schema):
    """The rating as stored."""

    key: str
    value: Literal[1, -1, 0]


class TopicOut(RadarOut):
    """A public radar anyone can subscribe to."""

    subscriber_count: int
    subscribed: bool = Field(description="whether the token owner follows it")


class TopicQuery(Schema):
    """Search and order of the topics directory."""

    q: ShortText = Field("", description="words in the name or description")
    sort: Literal["subscribers", "name", "newest"] = "subscribers"
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based page of 50 topics")


class TopicPageOut(Schema):
    """One page of public topics."""

    count_on_page: int
    page: int
    next_page: int | None
    topics: list[TopicOut]


class SubscriptionOut(Schema):
    """Whether the token owner now follows the topic, and how many do."""

    id: int
    subscribed: bool
    subscriber_count: int


class ValidationErrorOut(Schema):
    """422: one entry per problem; `loc` ends with the field's name, `msg` says what is wrong."""

    detail: list[dict[str, Any]]
